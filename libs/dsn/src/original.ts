// The original message as the DSN returns it: checked for stray line ends,
// cut to its header section for RET=HDRS, and labelled with the media type
// and transfer encoding its octets need.
//
// Contract:
// - The original is copied byte for byte, never normalised. It is the stored
//   SMTP body, CRLF-only by construction (the data reader refuses a bare CR or
//   LF), so one here means a bug; checkOriginal throws (DsnError
//   'bare-line-end') rather than let it produce a smuggling-shaped message
//   (SAFETY.md "SMTP smuggling").
// - The header section runs up to and including the first empty line
//   (RFC 5322 §2.1); a message without one is all header section.
// - text/rfc822-headers (RFC 6522 §4) or message/rfc822 (RFC 2046 §5.2.1)
//   when the header section is ASCII; message/global-headers or
//   message/global (RFC 6532 §3.7, RFC 6533 §6) when it holds octets over
//   127. "8bit" transfer encoding whenever the returned octets hold any.
//
// Does not: check line lengths (the message was accepted within limits),
// judge NUL octets, shorten a large message, or parse MIME.

import { DsnError } from './dsn-error.js';

const CR = 0x0d;
const LF = 0x0a;

export interface ReturnedPart {
  readonly contentType: string;
  readonly eightBit: boolean;
  readonly bytes: Uint8Array;
}

/** Throws DsnError 'bare-line-end' at the first CR not followed by LF or LF not preceded by CR. */
export function checkOriginal(original: Uint8Array): void {
  const n = original.length;
  for (let i = 0; i < n; i++) {
    const b = original[i];
    if (b === CR) {
      if (original[i + 1] !== LF) throw bareLineEnd('CR', i);
      i += 1;
    } else if (b === LF) {
      throw bareLineEnd('LF', i);
    }
  }
}

/** The octets up to and including the first empty line; all of them when there is none. */
export function headerSection(original: Uint8Array): Uint8Array {
  if (original[0] === CR && original[1] === LF) return original.subarray(0, 2);
  const end = Buffer.from(original.buffer, original.byteOffset, original.length).indexOf(
    '\r\n\r\n',
    0,
    'latin1',
  );
  return end < 0 ? original : original.subarray(0, end + 4);
}

export function hasEightBit(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return true;
  return false;
}

/** The third part of the report: what is returned of the original, and how it is labelled. */
export function returnedPart(original: Uint8Array, content: 'headers' | 'full'): ReturnedPart {
  const headers = headerSection(original);
  const headersEightBit = hasEightBit(headers);
  if (content === 'headers') {
    return {
      contentType: headersEightBit ? 'message/global-headers' : 'text/rfc822-headers',
      eightBit: headersEightBit,
      bytes: headers,
    };
  }
  return {
    contentType: headersEightBit ? 'message/global' : 'message/rfc822',
    eightBit: headersEightBit || hasEightBit(original.subarray(headers.length)),
    bytes: original,
  };
}

function bareLineEnd(which: 'CR' | 'LF', at: number): DsnError {
  return new DsnError('bare-line-end', `the original holds a bare ${which} at octet ${at}`);
}
