/**
 * SASL/PLAIN on the broker: the users are the `user_<name>="<password>"` options of the listener's
 * PlainLoginModule JAAS config (Kafka's PlainServerCallbackHandler). One client token, one answer (empty).
 */
import { ConfigError } from '../config.js';
import { JaasError, PLAIN_LOGIN_MODULE, parseSingleJaasEntry, plainUsers } from '../../security/jaas.js';
import { authenticatePlain, parsePlainMessage } from '../../security/plain.js';
import type { SaslMechanismFactory, SaslServerMechanism, SaslStep } from './mechanism.js';

const EMPTY = Buffer.alloc(0);

export const plainMechanism: SaslMechanismFactory = {
  name: 'PLAIN',
  configure({ listenerName, jaasConfig }) {
    const prefixed = `listener.name.${listenerName.toLowerCase()}.plain.sasl.jaas.config`;
    if (!jaasConfig) {
      throw new ConfigError(`SASL mechanism PLAIN is enabled on listener ${listenerName} but has no users: set ${prefixed} (or sasl.jaas.config) to '${PLAIN_LOGIN_MODULE} required user_<name>="<password>";'`);
    }
    let users: Map<string, string>;
    try {
      const entry = parseSingleJaasEntry(jaasConfig.value);
      if (entry.loginModule !== PLAIN_LOGIN_MODULE) throw new JaasError(`PLAIN needs ${PLAIN_LOGIN_MODULE}, not ${entry.loginModule}`);
      users = plainUsers(entry);
    } catch (err) {
      throw new ConfigError(`Invalid value for configuration ${jaasConfig.key}: ${(err as Error).message}`);
    }
    return (): SaslServerMechanism => {
      let used = false;
      return {
        name: 'PLAIN',
        step(token: Buffer): Promise<SaslStep> {
          if (used) return Promise.resolve({ done: true, error: 'Authentication failed: PLAIN takes a single message' });
          used = true;
          const result = authenticatePlain(token, users);
          if (result.ok) return Promise.resolve({ done: true, response: EMPTY, principal: `User:${result.username}` });
          let user: string | undefined;
          try {
            user = parsePlainMessage(token).username;
          } catch {
            user = undefined;
          }
          return Promise.resolve({ done: true, error: result.error, user });
        },
      };
    };
  },
};
