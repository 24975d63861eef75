import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrincipalMappingRules, rfc2253, PrincipalMappingError } from '../../../src/security/ssl-principal-mapper.js';

// The rules and names of Kafka's security documentation ("Customizing SSL User Name").
const DOC_RULES = 'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,\nRULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,\nRULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,\nDEFAULT';

test("Kafka's documented rules map its documented names", () => {
  const m = parsePrincipalMappingRules(DOC_RULES);
  assert.equal(m.map('CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown'), 'serviceuser');
  assert.equal(m.map('CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown'), 'adminuser@admin');
  // The third rule: any name with a CN, lower-cased.
  assert.equal(m.map('OU=Eng,CN=Bob.Smith,O=Acme'), 'bob.smith');
  // DEFAULT: nothing else matched, the name is kept.
  assert.equal(m.map('O=NoCommonName,C=US'), 'O=NoCommonName,C=US');
});

test('DEFAULT alone (and unset) keeps the distinguished name', () => {
  assert.equal(parsePrincipalMappingRules('DEFAULT').map('CN=a,O=b'), 'CN=a,O=b');
  assert.equal(parsePrincipalMappingRules(undefined).map('CN=a,O=b'), 'CN=a,O=b');
});

test('upper-casing, escaped slashes, first match wins', () => {
  assert.equal(parsePrincipalMappingRules('RULE:^CN=([^,]*).*$/$1/U').map('CN=alice,O=x'), 'ALICE');
  assert.equal(parsePrincipalMappingRules('RULE:^CN=([^,]*),O=(.*)$/$2\\/$1/').map('CN=alice,O=x'), 'x/alice');
  const m = parsePrincipalMappingRules('RULE:^CN=(a.*)$/first/, RULE:^CN=(.*)$/second/');
  assert.equal(m.map('CN=alice'), 'first');
  assert.equal(m.map('CN=bob'), 'second');
});

test('a name no rule matches is refused; malformed rules are config errors', () => {
  const m = parsePrincipalMappingRules('RULE:^CN=admin$/root/');
  assert.throws(() => m.map('CN=alice'), PrincipalMappingError);
  assert.throws(() => parsePrincipalMappingRules('RULE:^CN=(.*$/x/'), /Invalid rule/);
  assert.throws(() => parsePrincipalMappingRules('RULE:^CN=x'), /Invalid rule/);
  assert.throws(() => parsePrincipalMappingRules('SOMETHING'), /Invalid rule/);
});

test('certificate subjects in RFC 2253 order with escapes', () => {
  assert.equal(rfc2253('C=US\nO=Tributary\nOU=Clients\nCN=alice'), 'CN=alice,OU=Clients,O=Tributary,C=US');
  assert.equal(rfc2253('O=Acme, Inc.\nCN=bob'), 'CN=bob,O=Acme\\, Inc.');
});
