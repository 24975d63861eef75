/**
 * SASL/SCRAM-SHA-256 and SCRAM-SHA-512 on the broker (RFC 5802/7677): two client messages, credentials from
 * the broker's SCRAM credential store (AlterUserScramCredentials / `tributary users`), never a password.
 * Delegation tokens (the tokenauth=true extension) are not supported and are refused.
 */
import { ScramServer, type ScramMechanismName } from '../../security/scram.js';
import { scramCredentialsOf } from '../scram-credentials.js';
import type { BrokerContext } from '../broker-context.js';
import type { SaslMechanismFactory, SaslServerMechanism, SaslStep } from './mechanism.js';

function scramMechanism(name: ScramMechanismName): SaslMechanismFactory {
  // Kafka's message for every SCRAM failure: it does not say whether the user exists.
  const refused = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${name}`;
  return {
    name,
    configure() {
      return (broker: BrokerContext): SaslServerMechanism => {
        let server: ScramServer | undefined;
        let claimed: string | undefined;
        return {
          name,
          async step(token: Buffer): Promise<SaslStep> {
            if (!server) {
              const store = await scramCredentialsOf(broker);
              server = new ScramServer(name, (user) => store.lookup(user, name));
            }
            const first = server.state === 'client-first';
            if (first) claimed = claimedUser(token);
            const r = server.step(token);
            if (r.error) return { done: true, error: refused, user: claimed };
            if (first && server.extensions.get('tokenauth') === 'true') {
              return { done: true, error: 'Authentication failed: delegation tokens are not supported', user: claimed };
            }
            if (!r.done) return { done: false, response: r.response };
            return { done: true, response: r.response, principal: `User:${server.authenticatedUser!}` };
          },
        };
      };
    },
  };
}

/** The n= name of a client-first message, for the audit trail only. */
function claimedUser(token: Buffer): string | undefined {
  const m = /(?:^|,)n=([^,]*)/.exec(token.toString('utf8'));
  return m ? m[1]!.replace(/=2C/g, ',').replace(/=3D/g, '=') : undefined;
}

export const scramSha256Mechanism = scramMechanism('SCRAM-SHA-256');
export const scramSha512Mechanism = scramMechanism('SCRAM-SHA-512');
