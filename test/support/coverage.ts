/** A member with the standard PPO of the demo (deductible $500, copay $25, coinsurance 20%). */
export const ppoCoverage = (coverageId: string) => ({
  member: { birthDate: '1985-06-15', sex: 'female' },
  coverages: [
    {
      coverageId,
      planId: 'PPO-GOLD',
      status: 'active',
      start: '2026-01-01',
      end: '2026-12-31',
      benefits: {
        deductibleCents: 50_000,
        outOfPocketMaxCents: 300_000,
        coinsuranceBps: 2_000,
        copayCents: 2_500,
        annualVisitLimit: 30,
      },
    },
  ],
});
