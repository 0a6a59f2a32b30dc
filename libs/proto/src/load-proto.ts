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
// what proto-loader produces in the specs). loadService caches per service.

import {
  loadPackageDefinition,
  type MethodDefinition,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
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

const services = new Map<string, ServiceDefinition>();

/**
 * The definition of service `name` ("petrel.routing.v1.Routing") from `file`,
 * for Server.addService and a client's method paths. Loaded once per process.
 */
export function loadService(file: string, name: string): ServiceDefinition {
  let service = services.get(name);
  if (service === undefined) {
    let node: unknown = loadPackageDefinition(loadProto(file));
    for (const part of name.split('.'))
      node = (node as Record<string, unknown> | undefined)?.[part];
    if (typeof node !== 'function') throw new Error(`${name} is not in ${file}`);
    service = (node as ServiceClientConstructor).service;
    services.set(name, service);
  }
  return service;
}

/** One method of a service: its path and (de)serializers. */
export function serviceMethod<Request, Response>(
  service: ServiceDefinition,
  serviceName: string,
  method: string,
): MethodDefinition<Request, Response> {
  const definition = service[method];
  if (definition === undefined) throw new Error(`${serviceName}/${method} is not defined`);
  return definition as MethodDefinition<Request, Response>;
}
