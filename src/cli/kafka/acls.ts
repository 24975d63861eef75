/**
 * kafka-acls.sh: --add / --remove / --list ACLs through CreateAcls / DeleteAcls / DescribeAcls, with Kafka's
 * options (--allow-principal/--deny-principal, --allow-host/--deny-host, --operation, --topic/--group/--cluster/
 * --transactional-id, --resource-pattern-type, --producer/--consumer/--idempotent, --force) and Kafka's output
 * ("Current ACLs for resource `ResourcePattern(…)`:"). --remove without --force asks on stdin.
 */
import { createInterface } from 'node:readline/promises';
import { withAdmin } from '../topics-common.js';
import { clientFlags, KafkaUsageError, readProperties, requireOption, type KafkaTool } from './options.js';
import { AclUsageError, resourcesOf, runAdd, runList, runRemove, type AclCommandArgs } from '../acl-command.js';

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(`${question}\n`)).trim().toLowerCase().startsWith('y');
  } finally {
    rl.close();
  }
}

const tool: KafkaTool = {
  description: 'This tool helps to manage acls on kafka.',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'A list of host/port pairs to use for establishing the connection to the Kafka cluster. REQUIRED.', metavar: 'String: server to connect to' },
    'command-config': { arg: 'required', help: 'A property file containing configs to be passed to Admin Client.', metavar: 'String: command-config' },
    add: { arg: 'none', help: 'Indicates you are trying to add ACLs.' },
    remove: { arg: 'none', help: 'Indicates you are trying to remove ACLs.' },
    list: { arg: 'none', help: 'List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource.' },
    topic: { arg: 'required', help: 'topic to which ACLs should be added or removed. A value of \'*\' indicates ACL should apply to all topics.', metavar: 'String: topic' },
    group: { arg: 'required', help: 'Consumer Group to which the ACLs should be added or removed. A value of \'*\' indicates the ACLs should apply to all groups.', metavar: 'String: group' },
    cluster: { arg: 'none', help: 'Add/Remove cluster ACLs.' },
    'transactional-id': { arg: 'required', help: 'The transactionalId to which ACLs should be added or removed. A value of \'*\' indicates the ACLs should apply to all transactionalIds.', metavar: 'String: transactional-id' },
    'delegation-token': { arg: 'required', help: 'Delegation token to which ACLs should be added or removed. A value of \'*\' indicates ACL should apply to all tokens.', metavar: 'String: delegation-token' },
    'user-principal': { arg: 'required', help: 'Specifies a user principal as a resource in relation with the operation.', metavar: 'String: user-principal' },
    'resource-pattern-type': { arg: 'required', help: 'The type of the resource pattern or pattern filter. When adding acls, this should be a specific pattern type, e.g. \'literal\' or \'prefixed\'. When listing or removing acls, a specific pattern type can be used to list or remove acls from specific resource patterns, or use the filter values of \'any\' or \'match\'. (default: LITERAL)', metavar: 'ANY|MATCH|LITERAL|PREFIXED' },
    'allow-principal': { arg: 'required', help: 'principal is in principalType:name format. Note that principalType must be supported by the Authorizer being used. User:\'*\' is the wild card indicating all users.', metavar: 'String: allow-principal' },
    'deny-principal': { arg: 'required', help: 'principal is in principalType:name format. By default anyone not added through --allow-principal is denied access.', metavar: 'String: deny-principal' },
    principal: { arg: 'required', help: 'List ACLs for the specified principal. principal is in principalType:name format. Multiple --principal option can be passed.', metavar: 'String: principal' },
    'allow-host': { arg: 'required', help: 'Host from which principals listed in --allow-principal will have access. If you have specified --allow-principal then the default for this option will be set to \'*\' which allows access from all hosts.', metavar: 'String: allow-host' },
    'deny-host': { arg: 'required', help: 'Host from which principals listed in --deny-principal will be denied access. If you have specified --deny-principal then the default for this option will be set to \'*\' which denies access from all hosts.', metavar: 'String: deny-host' },
    operation: { arg: 'required', help: 'Operation that is being allowed or denied. Valid operation names are: Describe, DescribeConfigs, Alter, IdempotentWrite, Read, Delete, Create, ClusterAction, All, CreateTokens, DescribeTokens, Write, AlterConfigs (default: All)', metavar: 'String' },
    producer: { arg: 'none', help: 'Convenience option to add/remove ACLs for producer role. This will generate ACLs that allows WRITE,DESCRIBE and CREATE on topic.' },
    consumer: { arg: 'none', help: 'Convenience option to add/remove ACLs for consumer role. This will generate ACLs that allows READ,DESCRIBE on topic and READ on group.' },
    idempotent: { arg: 'none', help: 'Enable idempotence for the producer. This should be used in combination with the --producer option.' },
    force: { arg: 'none', help: 'Assume Yes to all queries and do not prompt.' },
  },
  async run(args) {
    const bootstrap = requireOption(args, 'bootstrap-server');
    const actions = ['add', 'remove', 'list'].filter((o) => args.has(o));
    if (actions.length !== 1) throw new KafkaUsageError('Command must include exactly one action: --list, --add, --remove.');
    if (args.has('idempotent') && !args.has('producer')) throw new KafkaUsageError('Option "[idempotent]" can\'t be used without option "[producer]"');
    const a: AclCommandArgs = {
      resources: resourcesOf({
        topic: args.values('topic'), group: args.values('group'), cluster: args.has('cluster'), transactionalId: args.values('transactional-id'),
        delegationToken: args.values('delegation-token'), userPrincipal: args.values('user-principal'),
      }),
      patternType: args.value('resource-pattern-type') ?? 'LITERAL',
      allowPrincipals: args.values('allow-principal'),
      denyPrincipals: args.values('deny-principal'),
      allowHosts: args.values('allow-host'),
      denyHosts: args.values('deny-host'),
      operations: args.values('operation'),
      producer: args.has('producer'),
      consumer: args.has('consumer'),
      idempotent: args.has('idempotent'),
    };
    const props = args.has('command-config') ? readProperties(args.value('command-config')!) : {};
    const write = (s: string): void => { process.stdout.write(s); };
    try {
      await withAdmin(clientFlags(bootstrap, props), async (admin) => {
        if (args.has('add')) await runAdd(admin, a, write);
        else if (args.has('list')) await runList(admin, a, args.values('principal'), write);
        else await runRemove(admin, a, args.has('force') ? async () => true : ask, write);
      });
    } catch (err) {
      if (err instanceof AclUsageError) throw new KafkaUsageError(err.message);
      throw err;
    }
  },
  errorText: (message) => `Error while executing ACL command: ${message}\n`,
};

export default tool;
