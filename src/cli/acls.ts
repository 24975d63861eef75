/**
 * `tributary acls add|list|remove`: ACLs through CreateAcls / DescribeAcls / DeleteAcls, with kafka-acls.sh's
 * options and output (src/cli/acl-command.ts). The broker needs authorizer.class.name set (else
 * SECURITY_DISABLED) and the caller ALTER (add/remove) or DESCRIBE (list) on the cluster.
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { collectList, withAdmin } from './topics-common.js';
import { AclUsageError, resourcesOf, runAdd, runList, runRemove, type AclCommandArgs } from './acl-command.js';

interface AclFlags extends ClientFlags {
  topic: string[];
  group: string[];
  cluster?: boolean;
  transactionalId: string[];
  resourcePatternType: string;
  allowPrincipal: string[];
  denyPrincipal: string[];
  allowHost: string[];
  denyHost: string[];
  operation: string[];
  principal: string[];
  producer?: boolean;
  consumer?: boolean;
  idempotent?: boolean;
  force?: boolean;
}

function addResourceFlags(cmd: Command): Command {
  return cmd
    .option('--topic <name>', 'a topic (repeatable; * for every topic)', collectList, [])
    .option('--group <name>', 'a consumer group (repeatable; * for every group)', collectList, [])
    .option('--cluster', 'the cluster')
    .option('--transactional-id <id>', 'a transactional id (repeatable; * for every one)', collectList, [])
    .option('--resource-pattern-type <type>', 'LITERAL or PREFIXED (list/remove also ANY or MATCH)', 'LITERAL');
}

function addEntryFlags(cmd: Command): Command {
  return cmd
    .option('--allow-principal <principal>', 'principal to allow, e.g. User:alice (repeatable; User:* for everyone)', collectList, [])
    .option('--deny-principal <principal>', 'principal to deny (repeatable)', collectList, [])
    .option('--allow-host <host>', 'host the allowed principals connect from (repeatable; default *)', collectList, [])
    .option('--deny-host <host>', 'host the denied principals connect from (repeatable; default *)', collectList, [])
    .option('--operation <op>', 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable; default All)', collectList, []);
}

const argsOf = (o: AclFlags): AclCommandArgs => ({
  resources: resourcesOf({ topic: o.topic, group: o.group, cluster: o.cluster, transactionalId: o.transactionalId }),
  patternType: o.resourcePatternType,
  allowPrincipals: o.allowPrincipal ?? [],
  denyPrincipals: o.denyPrincipal ?? [],
  allowHosts: o.allowHost ?? [],
  denyHosts: o.denyHost ?? [],
  operations: o.operation ?? [],
  producer: o.producer,
  consumer: o.consumer,
  idempotent: o.idempotent,
});

const write = (s: string): void => { process.stdout.write(s); };

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof AclUsageError) throw new UsageError(err.message);
    throw err;
  }
}

export function registerAcls(program: Command): void {
  const acls = program.command('acls').description('Add, list and remove ACLs (the broker needs authorizer.class.name)');
  acls.addHelpText('after', `
Examples:
  $ tributary acls add --allow-principal User:alice --operation Read --operation Describe --topic orders
  $ tributary acls add --allow-principal User:alice --producer --topic orders- --resource-pattern-type prefixed
  $ tributary acls add --deny-principal User:bob --deny-host 10.0.0.9 --operation All --group payments
  $ tributary acls list --topic orders
  $ tributary acls remove --topic orders --force`);

  const add = addEntryFlags(addResourceFlags(acls.command('add').description('Add ACLs (one per principal × host × operation × resource)')))
    .option('--producer', 'producer ACLs: WRITE, DESCRIBE, CREATE on the topics (and WRITE, DESCRIBE on --transactional-id)')
    .option('--consumer', 'consumer ACLs: READ, DESCRIBE on the topics and READ on the --group')
    .option('--idempotent', 'with --producer: IDEMPOTENT_WRITE on the cluster');
  addClientFlags(add).action(action(async (o: AclFlags) => {
    if (o.idempotent && !o.producer) throw new UsageError('--idempotent needs --producer');
    await run(() => withAdmin(o, (admin) => runAdd(admin, argsOf(o), write)));
  }));

  const list = addResourceFlags(acls.command('list').description('List ACLs (every ACL without a resource)'))
    .option('--principal <principal>', 'only this principal\'s ACLs (repeatable)', collectList, []);
  addClientFlags(list).action(action(async (o: AclFlags) => {
    await run(() => withAdmin(o, (admin) => runList(admin, argsOf(o), o.principal ?? [], write)));
  }));

  const remove = addEntryFlags(addResourceFlags(acls.command('remove').description('Remove ACLs: the given entries, or every ACL of the resources without principals')))
    .option('--force', 'do not ask for confirmation');
  addClientFlags(remove).action(action(async (o: AclFlags) => {
    const confirm = o.force ? async () => true : async (q: string): Promise<boolean> => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return (await rl.question(`${q}\n`)).trim().toLowerCase().startsWith('y');
      } finally {
        rl.close();
      }
    };
    await run(() => withAdmin(o, (admin) => runRemove(admin, argsOf(o), confirm, write)));
  }));
}
