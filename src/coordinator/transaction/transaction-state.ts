/**
 * The states of a transactional id, with Kafka's numeric ids (TransactionLogValue.TransactionStatus in
 * `__transaction_state`) and names (DescribeTransactions / ListTransactions), and the legal transitions.
 */

/** Kafka's status number for each state, as written in TransactionLogValue. */
export const TransactionState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;

export type TransactionStateName = keyof typeof TransactionState;

const byStatus: readonly TransactionStateName[] = [
  'Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence',
];

/** The state a TransactionLogValue status number stands for, or undefined for an unknown number. */
export function stateFromStatus(status: number): TransactionStateName | undefined {
  return byStatus[status];
}

export function isTransactionStateName(name: string): name is TransactionStateName {
  return Object.hasOwn(TransactionState, name);
}

/** For each state, the states it may be entered from (Kafka's TransactionState.validPreviousStates). */
const validPrevious: Readonly<Record<TransactionStateName, readonly TransactionStateName[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareEpochFence: ['Ongoing'],
};

export function canTransition(from: TransactionStateName, to: TransactionStateName): boolean {
  return validPrevious[to].includes(from);
}

/** States in which an idle transactional id may expire (transactional.id.expiration.ms). */
export function isExpirationAllowed(state: TransactionStateName): boolean {
  return state === 'Empty' || state === 'CompleteCommit' || state === 'CompleteAbort';
}
