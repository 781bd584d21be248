/** Who is calling, as read from the verified token (DESIGN.md decision 6). */
export type Role = 'provider' | 'analyst' | 'rules-admin';

export interface Identity {
  sub: string;
  roles: Role[];
  /** NPIs a provider identity may bill and read for; empty for other roles. */
  npis: string[];
}

/** The role an action is journaled under: the most privileged one the caller holds. */
export function actingRole(identity: Identity): Role {
  for (const role of ['rules-admin', 'analyst', 'provider'] as const) {
    if (identity.roles.includes(role)) return role;
  }
  return 'provider';
}
