import { describe, expect, it } from '@jest/globals';
import {
  A2A_PUSH_STREAM,
  A2A_PUSH_SUBJECT_ROOT,
  BUS_SERVICES,
  CONTEXT_OWNERS,
  GetDirectory,
  allContracts,
  eventAccess,
  rpcAccess,
  streamNameFor,
  type BusRole,
} from '@orgmesh/contracts';
import { allows, busPermissions, inboxPrefixFor, subjectMatches, type BusIdentity } from './permissions.js';

const none = { subjectPrefix: '', nameSuffix: '' };
const ns = { subjectPrefix: 'tperm1.', nameSuffix: '_TPERM1' };
const agent: BusIdentity = { role: 'agent', agentId: 'finance-agent', agentRole: 'finance' };

function identityOf(role: BusRole): BusIdentity {
  return role === 'agent' ? agent : { role };
}

describe('subjectMatches', () => {
  it('follows NATS wildcard rules', () => {
    expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.b', 'a.b.c')).toBe(false);
    expect(subjectMatches('>', 'anything.at.all')).toBe(true);
  });

  // The gateway's event filters match subjects with it too (services/gateway event-hub).
  it.each([
    ['sessions.v1.*', 'sessions.v1.created', true],
    ['sessions.v1.*', 'sessions.v1.a.b', false],
    ['sessions.>', 'sessions.v1.a.b', true],
    ['sessions.>', 'sessions', false],
    ['mesh.v1.task-updated', 'mesh.v1.task-updated', true],
    ['mesh.v1.task-updated', 'mesh.v1.task-created', false],
  ])('%s ~ %s → %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('busPermissions covers every contract', () => {
  // Fails when a contract gains a subject the access table (libs/contracts access.ts) does not cover.
  for (const contract of allContracts()) {
    it(`${contract.kind} ${contract.subject}`, () => {
      const owner = CONTEXT_OWNERS[contract.context];
      expect(owner).toBeDefined();
      const ownerPerms = busPermissions({ role: owner! }, ns);
      const wire = `${ns.subjectPrefix}${contract.subject}`;
      if (contract.kind === 'rpc') {
        const access = rpcAccess(contract.subject);
        expect(access?.callers.length).toBeGreaterThan(0);
        expect(allows(ownerPerms.subscribe, wire)).toBe(true);
        expect(ownerPerms.allowResponses).toBe(true);
        for (const caller of access!.callers) {
          expect(allows(busPermissions(identityOf(caller), ns).publish, wire)).toBe(true);
        }
      } else {
        const access = eventAccess(contract.subject);
        expect(access).toBeDefined();
        const published = (access!.publishedOn ?? [contract.subject]).map((s) => `${ns.subjectPrefix}${s}`);
        const sample = published.map((s) => s.replace(/>$/, 'some-role'));
        for (const subject of sample) expect(allows(ownerPerms.publish, subject)).toBe(true);
        const stream = `${streamNameFor(access!.stream ?? contract.context)}${ns.nameSuffix}`;
        expect(ownerPerms.publish).toContain(`$JS.API.STREAM.CREATE.${stream}`);
        for (const role of access!.streamConsumers ?? []) {
          const perms = busPermissions(identityOf(role), ns);
          expect(perms.publish).toContain(`$JS.API.STREAM.INFO.${stream}`);
          expect(perms.publish.some((p) => p.startsWith(`$JS.API.CONSUMER.MSG.NEXT.${stream}.`))).toBe(true);
        }
        for (const role of access!.coreSubscribers ?? []) {
          expect(allows(busPermissions(identityOf(role), ns).subscribe, wire)).toBe(true);
        }
      }
    });
  }
});

describe('least privilege', () => {
  const all: BusIdentity[] = [...BUS_SERVICES.map((role) => ({ role })), agent];

  it('lets only the privacy proxy ask for the org directory', () => {
    const askers = all.filter((id) => allows(busPermissions(id, none).publish, GetDirectory.subject));
    expect(askers).toEqual([{ role: 'privacy-proxy' }]);
  });

  it('gives no identity a full wildcard, and each only its own inbox', () => {
    for (const identity of all) {
      const perms = busPermissions(identity, none);
      for (const pattern of [...perms.publish, ...perms.subscribe]) {
        expect(pattern).not.toBe('>');
        expect(pattern).not.toMatch(/^_INBOX\.>$|^\$JS\.API\.>$/);
      }
      const inboxes = perms.subscribe.filter((s) => s.startsWith('_INBOX.'));
      const name = identity.role === 'agent' ? 'agent-finance-agent' : identity.role;
      expect(inboxes).toEqual([`${inboxPrefixFor(name)}.>`]);
      expect(perms.publish.some((p) => p.startsWith('_INBOX'))).toBe(false);
    }
  });

  it('confines an agent to its own inboxes and the mesh RPCs', () => {
    const perms = busPermissions(agent, none);
    expect(allows(perms.publish, 'rpc.sessions.v1.create')).toBe(false);
    expect(allows(perms.publish, 'rpc.mesh.v1.send-task')).toBe(true);
    expect(allows(perms.subscribe, 'rpc.mesh.v1.send-task')).toBe(false);
    expect(allows(perms.publish, 'mesh.v1.inbox.finance')).toBe(false);
    expect(
      allows(perms.publish, '$JS.API.CONSUMER.CREATE.MESH_INBOX.inbox-finance.mesh.v1.inbox.finance'),
    ).toBe(true);
    expect(
      allows(perms.publish, '$JS.API.CONSUMER.CREATE.MESH_INBOX.inbox-finance.mesh.v1.inbox.legal'),
    ).toBe(false);
    expect(allows(perms.publish, '$JS.API.CONSUMER.CREATE.MESH_INBOX.inbox-legal.mesh.v1.inbox.legal')).toBe(
      false,
    );
    expect(allows(perms.publish, '$JS.API.CONSUMER.MSG.NEXT.MESH_INBOX.inbox-legal')).toBe(false);
    expect(allows(perms.publish, '$JS.API.STREAM.CREATE.MESH')).toBe(false);
    expect(allows(perms.publish, '$JS.API.STREAM.DELETE.MESH_INBOX')).toBe(false);
    expect(allows(perms.subscribe, 'sessions.v1.transitioned')).toBe(false);
    expect(perms.allowResponses).toBe(false);
  });

  it('lets an agent hear only the changes of its own tasks, not every task change (issue 18)', () => {
    const perms = busPermissions(agent, ns);
    expect(allows(perms.subscribe, 'tperm1.mesh.v1.task-updated')).toBe(false);
    expect(allows(perms.subscribe, 'tperm1.mesh.v1.task-created')).toBe(false);
    expect(perms.subscribe).toContain('tperm1.mesh.v1.updates.finance-agent');
    expect(allows(perms.subscribe, 'tperm1.mesh.v1.updates.legal-agent')).toBe(false);
    expect(allows(perms.subscribe, 'tperm1.mesh.v1.updates.*')).toBe(false);
    expect(allows(perms.publish, 'tperm1.mesh.v1.updates.finance-agent')).toBe(false);
    // Only the mesh router publishes the copies, to any sender; it still hears its replicas' events.
    const router = busPermissions({ role: 'mesh-router' }, ns);
    expect(allows(router.publish, 'tperm1.mesh.v1.updates.legal-agent')).toBe(true);
    expect(allows(router.subscribe, 'tperm1.mesh.v1.task-updated')).toBe(true);
    const publishers = [...BUS_SERVICES.map((role) => ({ role }) as BusIdentity), agent].filter((id) =>
      allows(busPermissions(id, ns).publish, 'tperm1.mesh.v1.updates.finance-agent'),
    );
    expect(publishers).toEqual([{ role: 'mesh-router' }]);
  });

  it('keeps services off RPCs they do not call and events they do not own', () => {
    const gateway = busPermissions({ role: 'gateway' }, none);
    expect(allows(gateway.publish, 'sessions.v1.created')).toBe(false);
    expect(allows(gateway.publish, 'rpc.registry.v1.resolve-policy')).toBe(false);
    expect(allows(gateway.subscribe, 'rpc.sessions.v1.create')).toBe(false);
    const proxy = busPermissions({ role: 'privacy-proxy' }, none);
    expect(allows(proxy.publish, 'rpc.sessions.v1.create')).toBe(false);
    expect(allows(proxy.publish, '$JS.API.STREAM.CREATE.SESSIONS')).toBe(false);
  });

  it("lets only a store's owner provision, write, read and purge it (A2A push configs, issue 25)", () => {
    const stream = `${streamNameFor(A2A_PUSH_STREAM)}_TPERM1`;
    const subject = `tperm1.${A2A_PUSH_SUBJECT_ROOT}.task-1.cfg`;
    const needed = (perms: ReturnType<typeof busPermissions>) =>
      [
        `$JS.API.STREAM.CREATE.${stream}`,
        `$JS.API.STREAM.INFO.${stream}`,
        `$JS.API.STREAM.MSG.GET.${stream}`,
        `$JS.API.STREAM.PURGE.${stream}`,
        subject,
      ].filter((s) => allows(perms.publish, s));
    expect(needed(busPermissions({ role: 'gateway' }, ns))).toHaveLength(5);
    for (const other of [
      ...BUS_SERVICES.filter((r) => r !== 'gateway').map((role) => ({ role }) as BusIdentity),
      agent,
    ]) {
      expect({ role: other.role, allowed: needed(busPermissions(other, ns)) }).toEqual({
        role: other.role,
        allowed: [],
      });
    }
  });

  it('applies the namespace to subjects, streams and durables', () => {
    const perms = busPermissions(agent, ns);
    expect(perms.publish).toContain('tperm1.rpc.mesh.v1.send-task');
    expect(perms.publish).not.toContain('rpc.mesh.v1.send-task');
    expect(perms.publish).toContain(
      '$JS.API.CONSUMER.CREATE.MESH_INBOX_TPERM1.inbox-finance_TPERM1.tperm1.mesh.v1.inbox.finance',
    );
  });

  it('refuses agent ids that would be subject syntax', () => {
    expect(() => busPermissions({ role: 'agent', agentId: 'a.>', agentRole: 'x' }, none)).toThrow(/agentId/);
  });
});
