// The errors the registry answers with: Confluent Schema Registry's HTTP status and error_code pairs, so its
// clients (Confluent's serializers, kcat, Python's CachedSchemaRegistryClient) read them as they read Confluent's.

export class RegistryError extends Error {
  constructor(readonly status: number, readonly errorCode: number, message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const subjectNotFound = (subject: string): RegistryError => new RegistryError(404, 40401, `Subject '${subject}' not found.`);
export const versionNotFound = (version: string | number): RegistryError => new RegistryError(404, 40402, `Version ${version} not found.`);
export const schemaNotFound = (detail = 'Schema not found'): RegistryError => new RegistryError(404, 40403, detail);
export const subjectSoftDeleted = (subject: string): RegistryError =>
  new RegistryError(404, 40404, `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`);
export const subjectNotSoftDeleted = (subject: string): RegistryError =>
  new RegistryError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`);
export const versionSoftDeleted = (subject: string, version: number): RegistryError =>
  new RegistryError(404, 40406, `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete permanently`);
export const versionNotSoftDeleted = (subject: string, version: number): RegistryError =>
  new RegistryError(404, 40407, `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`);
export const subjectCompatibilityNotConfigured = (subject: string): RegistryError =>
  new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
export const subjectModeNotConfigured = (subject: string): RegistryError =>
  new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`);
export const incompatibleSchema = (detail: string): RegistryError => new RegistryError(409, 409, detail);
export const invalidSchema = (detail: string): RegistryError => new RegistryError(422, 42201, `Invalid schema ${detail}`);
export const invalidVersion = (version: string): RegistryError =>
  new RegistryError(422, 42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
export const invalidCompatibilityLevel = (level: unknown): RegistryError =>
  new RegistryError(422, 42203, `Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive (got ${JSON.stringify(level)})`);
export const invalidMode = (mode: unknown): RegistryError =>
  new RegistryError(422, 42204, `Invalid mode. Valid values are READWRITE, READONLY and IMPORT (got ${JSON.stringify(mode)})`);
export const operationNotPermitted = (detail: string): RegistryError => new RegistryError(422, 42205, detail);
export const referenceExists = (detail: string): RegistryError => new RegistryError(422, 42206, detail);
export const storeError = (detail: string): RegistryError => new RegistryError(500, 50001, `Error in the backend data store - ${detail}`);
export const storeTimeout = (detail: string): RegistryError => new RegistryError(500, 50002, `Operation timed out - ${detail}`);
