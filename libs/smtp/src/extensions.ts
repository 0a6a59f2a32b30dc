// What a next hop offers, read from its EHLO reply (RFC 5321 §4.1.1.1,
// §4.1.4; ehlo-line = ehlo-keyword *( SP ehlo-param )).
//
// Invariants: keywords are upper-cased; the first line (the server's domain
// and greeting) is never a keyword; a line that is not a keyword is ignored;
// a keyword seen twice keeps the union of its parameters.
//
// Liberal (RFC 5321 §4.2.1): the pre-standard "AUTH=LOGIN PLAIN" form is read
// as AUTH; parameters may be separated by any run of spaces or tabs; a SIZE
// parameter that is not a number counts as "no fixed maximum".
//
// Does not: decide which extension to use (the client dialog does).

export interface Extensions {
  /** False after a HELO fallback: no extension may be used (RFC 5321 §4.1.1.1). */
  readonly esmtp: boolean;
  /** Every keyword, upper-cased, with its parameters as sent. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
  /** RFC 1870: SIZE offered, so SIZE= may be sent. */
  readonly size: boolean;
  /** RFC 1870 §4: the fixed maximum message size; null when none was declared (or 0). */
  readonly maxSize: number | null;
  /** RFC 2920. */
  readonly pipelining: boolean;
  /** RFC 6152. */
  readonly eightBitMime: boolean;
  /** RFC 6531. */
  readonly smtputf8: boolean;
  /** RFC 3207. */
  readonly startTls: boolean;
  /** RFC 4954: SASL mechanisms, upper-cased; empty when AUTH is not offered. */
  readonly auth: readonly string[];
  /** RFC 2034. */
  readonly enhancedStatusCodes: boolean;
}

/** The extensions of a next hop that answered HELO, or not yet EHLO. */
export const NO_EXTENSIONS: Extensions = Object.freeze({
  esmtp: false,
  keywords: new Map<string, readonly string[]>(),
  size: false,
  maxSize: null,
  pipelining: false,
  eightBitMime: false,
  smtputf8: false,
  startTls: false,
  auth: Object.freeze([]) as readonly string[],
  enhancedStatusCodes: false,
});

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/** Reads the lines of a 250 reply to EHLO (text after the code, first line included). */
export function parseEhloReply(lines: readonly string[]): Extensions {
  const keywords = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const words = line.trim().split(/[ \t]+/);
    let keyword = words[0] ?? '';
    const params = words.slice(1);
    const eq = keyword.indexOf('=');
    if (eq > 0) {
      // "AUTH=LOGIN PLAIN": the pre-standard form some servers still send.
      params.unshift(keyword.slice(eq + 1));
      keyword = keyword.slice(0, eq);
    }
    if (!KEYWORD.test(keyword)) continue;
    keyword = keyword.toUpperCase();
    const known = keywords.get(keyword);
    if (known === undefined)
      keywords.set(
        keyword,
        params.filter((p) => p !== ''),
      );
    else for (const p of params) if (p !== '' && !known.includes(p)) known.push(p);
  }

  const sizeParam = keywords.get('SIZE')?.[0];
  const declared = sizeParam !== undefined && /^\d{1,15}$/.test(sizeParam) ? Number(sizeParam) : 0;
  const auth: string[] = [];
  for (const m of keywords.get('AUTH') ?? []) {
    const mech = m.toUpperCase();
    if (!auth.includes(mech)) auth.push(mech);
  }
  return {
    esmtp: true,
    keywords,
    size: keywords.has('SIZE'),
    maxSize: declared > 0 ? declared : null,
    pipelining: keywords.has('PIPELINING'),
    eightBitMime: keywords.has('8BITMIME'),
    smtputf8: keywords.has('SMTPUTF8'),
    startTls: keywords.has('STARTTLS'),
    auth,
    enhancedStatusCodes: keywords.has('ENHANCEDSTATUSCODES'),
  };
}
