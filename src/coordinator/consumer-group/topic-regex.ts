/**
 * SubscribedTopicRegex (ConsumerGroupHeartbeat v1, KIP-848): a member subscribes to every topic whose whole
 * name matches a regular expression, resolved on the broker. Kafka compiles these with RE2/J, so the syntax
 * is RE2's (no backreferences or lookaround) and matching is linear in the name's length whatever the
 * pattern; re2js is a pure-JS port of RE2/J, so a pattern means here what it means to Kafka and a hostile
 * one cannot stall the coordinator. An empty regex means "no regex" (librdkafka sends "" when it
 * subscribes by names), as in Kafka.
 *
 * `TopicRegexResolver` caches each pattern's matches per version of the topic-name list: a pattern is
 * evaluated again only after a topic was created or deleted. Internal topics never match, as in Kafka.
 */
import { RE2JS } from 're2js';
import { KafkaError } from '../../errors.js';

/** The broker's topic names and a number that changes whenever the set of names changes. */
export interface TopicNamesImage {
  version(): number;
  names(): Iterable<string>;
}

const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

/** Compiles a topic regex, or throws INVALID_REGULAR_EXPRESSION with the parser's reason. */
export function compileTopicRegex(regex: string): RE2JS {
  try {
    return RE2JS.compile(regex);
  } catch (err) {
    throw new KafkaError('INVALID_REGULAR_EXPRESSION', `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${(err as Error).message}.`, { cause: err });
  }
}

export class TopicRegexResolver {
  private cacheVersion = -1;
  private readonly cache = new Map<string, readonly string[]>();

  constructor(private readonly image: TopicNamesImage) {}

  /** The sorted names of the non-internal topics whose whole name matches `regex` (assumed valid). */
  resolve(regex: string): readonly string[] {
    const version = this.image.version();
    if (version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = version;
    }
    let topics = this.cache.get(regex);
    if (topics === undefined) {
      let pattern: RE2JS | null = null;
      try {
        pattern = compileTopicRegex(regex);
      } catch {
        // Heartbeats refuse invalid patterns before they are stored; one read back from a damaged log matches nothing.
      }
      const out: string[] = [];
      if (pattern) for (const name of this.image.names()) if (!INTERNAL_TOPICS.has(name) && pattern.matches(name)) out.push(name);
      topics = out.sort();
      this.cache.set(regex, topics);
    }
    return topics;
  }
}
