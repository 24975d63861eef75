// avsc and ajv, loaded on first use rather than when the package is imported: together they add ~80 ms to an import
// of the package root, which most users of the client or the broker never need. Both are CommonJS, so a
// synchronous require() suits the synchronous parsers and serdes.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let avscModule: typeof import('avsc') | undefined;
let ajvModules: { ajv: typeof import('ajv'); ajv2019: typeof import('ajv/dist/2019.js'); ajv2020: typeof import('ajv/dist/2020.js') } | undefined;

export function avsc(): typeof import('avsc') {
  return (avscModule ??= require('avsc') as typeof import('avsc'));
}

export function ajv(): NonNullable<typeof ajvModules> {
  return (ajvModules ??= {
    ajv: require('ajv') as typeof import('ajv'),
    ajv2019: require('ajv/dist/2019.js') as typeof import('ajv/dist/2019.js'),
    ajv2020: require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js'),
  });
}
