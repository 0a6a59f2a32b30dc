// Where the .proto files are and how every Petrel contract is loaded: one set
// of proto-loader options for all of them, so that the hand-written message
// types (camelCase fields, enums as their names, uint32 as numbers, every
// field present with its default, unset message fields null) hold for each.
//
// The .proto files ship with the package in proto/, beside src/ and dist/, so
// the same relative path finds them from the sources (tests, the
// @petrel/source condition) and from the build.
//
// Does not: generate code (the types are written by hand and checked against
// what proto-loader produces in the specs), or cache: callers load once.

import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The absolute path of the proto/ folder, the include root of every contract. */
export const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));

/** The proto-loader options every contract is loaded with; the message types assume them. */
export const LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});

/** Loads one contract by its path under PROTO_DIR, e.g. "petrel/routing/v1/routing.proto". */
export function loadProto(file: string): PackageDefinition {
  return loadSync(file, { ...LOADER_OPTIONS });
}
