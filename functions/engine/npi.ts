/**
 * The NPI check digit for nine payload digits: the Luhn formula over them prefixed with the
 * card issuer identifier 80840, as the NPI standard (45 CFR 162.406) specifies. Adding the
 * prefix's fixed contribution (24) is equivalent; we prefix literally so the code reads like
 * the standard.
 */
export function npiCheckDigit(nine: string): number {
  const digits = `80840${nine}`;
  let sum = 0;
  // Double every second digit counting from the right of the payload (the check digit is
  // excluded, so the rightmost payload digit is doubled).
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `npi` is ten digits whose last is the check digit of the first nine. */
export function npiCheckDigitValid(npi: string): boolean {
  return /^\d{10}$/.test(npi) && npiCheckDigit(npi.slice(0, 9)) === npi.charCodeAt(9) - 48;
}
