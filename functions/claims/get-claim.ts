import { journalRead, type ReadAudit } from './audited-read.ts';
import { NotFoundError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { ClaimReadPort, JournalReceipt, StoredClaim } from './ports.ts';

/**
 * A claim as its caller may see it. Another provider's claim is reported as not found, so a
 * provider cannot even learn that an id exists (OWASP API1, object-level authorization). An
 * analyst sees the detail (rule trace, fraud signals), so an analyst's read is journaled first.
 */
export async function getClaim(
  id: string,
  identity: Identity,
  claims: ClaimReadPort,
  audit?: ReadAudit,
): Promise<{ claim: StoredClaim; receipt: JournalReceipt | null }> {
  const claim = await claims.find(id);
  if (!claim || !mayRead(claim, identity)) throw new NotFoundError(`Claim ${id} was not found.`);
  if (audit && identity.roles.includes('analyst')) await journalRead(claim, identity, audit, 'claim');
  return { claim, receipt: await claims.receipt(claim.journalKey) };
}

function mayRead(claim: StoredClaim, identity: Identity): boolean {
  if (identity.roles.includes('analyst')) return true;
  return identity.roles.includes('provider') && identity.npis.includes(claim.submission.billingProviderNpi);
}
