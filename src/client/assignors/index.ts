/** The client-side assignors by their protocol names. */
import { ClientStateError } from '../errors.js';
import type { PartitionAssignor } from './assignor.js';
import { CooperativeStickyAssignor } from './cooperative-sticky.js';
import { RangeAssignor } from './range.js';
import { RoundRobinAssignor } from './round-robin.js';
import { StickyAssignor } from './sticky.js';

export * from './assignor.js';
export { CooperativeStickyAssignor } from './cooperative-sticky.js';
export { RangeAssignor } from './range.js';
export { RoundRobinAssignor } from './round-robin.js';
export { StickyAssignor, encodeStickyUserData, decodeStickyUserData } from './sticky.js';

const FACTORIES: Record<string, () => PartitionAssignor> = {
  range: () => new RangeAssignor(),
  roundrobin: () => new RoundRobinAssignor(),
  sticky: () => new StickyAssignor(),
  'cooperative-sticky': () => new CooperativeStickyAssignor(),
};

export const ASSIGNOR_NAMES: readonly string[] = Object.keys(FACTORIES);

export function assignorByName(name: string): PartitionAssignor {
  const make = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (!make) throw new ClientStateError(`unknown partition assignor '${name}': valid names are ${ASSIGNOR_NAMES.join(', ')}`);
  return make();
}
