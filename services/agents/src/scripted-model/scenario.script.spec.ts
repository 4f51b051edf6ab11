import { describe, expect, it } from '@jest/globals';
import type { Task } from '@orgmesh/contracts';
import { taskFixture } from '@orgmesh/testing';
import { deliveryMessage, systemPrompt } from '../agent/agent.prompts.js';
import { parseBrief, parseLenientJson, scriptedTurn, type ScriptMessage } from './scenario.script.js';

const ids = {
  budget: '11111111-1111-4111-8111-111111111111',
  approval: '22222222-2222-4222-8222-222222222222',
  review: '33333333-3333-4333-8333-333333333333',
};

function task(overrides: Partial<Task>): Task {
  return taskFixture({
    id: ids.budget,
    kind: 'task',
    from: { agentId: 'finance-lead', role: 'finance' },
    to: { role: 'finance', agentId: 'finance-agent' },
    type: 'budget-request',
    subject: null,
    createdAt: '2029-12-30T00:00:00.000Z',
    updatedAt: '2029-12-30T00:00:00.000Z',
    ...overrides,
  });
}

// What the privacy proxy hands the model: personal data already replaced by placeholders.
const MASKED_EMPLOYEE = {
  name: '[[PERSON_0a1b2c3d]]',
  email: '[[EMAIL_1b2c3d4e]]',
  ssn: '[[SSN_2c3d4e5f]]',
  iban: '[[IBAN_3d4e5f6a]]',
};
const BUDGET_INPUT = {
  quarter: 'Q1',
  department: 'Engineering',
  amount: 125000,
  currency: 'USD',
  purpose: 'Two platform engineers',
  employee: MASKED_EMPLOYEE,
};

function conversation(role: string, delivered: Task): ScriptMessage[] {
  return [
    {
      role: 'system',
      content: systemPrompt({ role, agentId: `${role}-agent`, instructions: '# instructions' }),
    },
    { role: 'user', content: deliveryMessage(delivered) },
  ];
}

/** Plays the model's turn, then answers its tool call with `result`, as the agent's loop does. */
function answer(messages: ScriptMessage[], result: unknown): { name: string; args: Record<string, unknown> } {
  const turn = scriptedTurn(messages);
  if (turn.kind !== 'tool_calls') throw new Error(`expected a tool call, got text: ${turn.text}`);
  const [call] = turn.calls;
  const id = `call_${messages.length}`;
  messages.push({
    role: 'assistant',
    content: null,
    tool_calls: [{ id, function: { name: call!.name, arguments: JSON.stringify(call!.arguments) } }],
  });
  messages.push({ role: 'tool', tool_call_id: id, content: JSON.stringify(result) });
  return { name: call!.name, args: call!.arguments };
}

describe('scripted model: the scenario script', () => {
  it('reads back what the agents write: the system prompt role and the delivered task', () => {
    const delivered = task({ input: BUDGET_INPUT });
    const brief = parseBrief(deliveryMessage(delivered));
    expect(brief).toEqual({
      kind: 'task',
      taskId: ids.budget,
      fromAgent: 'finance-lead',
      fromRole: 'finance',
      type: 'budget-request',
      payload: BUDGET_INPUT,
    });
    const approval = parseBrief(
      deliveryMessage(
        task({
          id: ids.approval,
          kind: 'approval',
          type: null,
          subject: 'Approve it',
          details: { amount: 5 },
        }),
      ),
    );
    expect(approval).toMatchObject({
      kind: 'approval',
      taskId: ids.approval,
      subject: 'Approve it',
      payload: { amount: 5 },
    });
    const note = parseBrief(deliveryMessage(task({ kind: 'notification', type: null, message: 'FYI' })));
    expect(note).toMatchObject({ kind: 'notification', payload: 'FYI' });
  });

  it('quotes placeholders the proxy left bare in JSON', () => {
    expect(parseLenientJson('{"amount": [[ACCOUNT_0a1b2c3d]], "ok": 1}')).toEqual({
      amount: '[[ACCOUNT_0a1b2c3d]]',
      ok: 1,
    });
    expect(parseLenientJson('not json')).toBe('not json');
  });

  it('Finance: requests approval from the manager with the request as received, waits, completes with the outcome', () => {
    const messages = conversation('finance', task({ input: BUDGET_INPUT }));
    const request = answer(messages, { task_id: ids.approval, kind: 'approval', state: 'submitted' });
    expect(request).toEqual({
      name: 'request_approval',
      args: {
        to: 'manager',
        subject: 'Approve the Q1 Engineering budget: USD 125000',
        details: { ...BUDGET_INPUT, budget_task_id: ids.budget },
      },
    });
    // Not decided yet: it waits again.
    expect(answer(messages, { task_id: ids.approval, state: 'working' })).toEqual({
      name: 'fetch_status',
      args: { task_id: ids.approval, wait_seconds: 120 },
    });
    expect(
      answer(messages, {
        task_id: ids.approval,
        state: 'completed',
        decision: 'approve',
        comment: 'ok',
        decided_by: 'manager-agent',
      }).name,
    ).toBe('fetch_status');
    const complete = answer(messages, { task_id: ids.budget, state: 'completed' });
    expect(complete).toEqual({
      name: 'complete_task',
      args: {
        task_id: ids.budget,
        result: {
          outcome: 'approved',
          approval_task_id: ids.approval,
          decision: 'approve',
          comment: 'ok',
          decided_by: 'manager-agent',
          next: 'Budget released for commitment',
        },
      },
    });
    expect(scriptedTurn(messages)).toEqual({ kind: 'text', text: 'Budget request completed: approved.' });
  });

  it('Finance: a refused approval request fails its task with the reason', () => {
    const messages = conversation('finance', task({ input: BUDGET_INPUT }));
    answer(messages, { error: { code: 'policy_denied', message: 'default-deny' } });
    expect(scriptedTurn(messages)).toEqual({
      kind: 'tool_calls',
      calls: [
        {
          name: 'fail_task',
          arguments: { task_id: ids.budget, reason: 'The approval request was refused: default-deny' },
        },
      ],
    });
  });

  it('Manager: above $100,000 consults Legal (payee name only, no payroll identifiers), waits, approves on its recommendation', () => {
    const details = { ...BUDGET_INPUT, budget_task_id: ids.budget };
    const messages = conversation(
      'manager',
      task({
        id: ids.approval,
        kind: 'approval',
        from: { agentId: 'finance-agent', role: 'finance' },
        type: null,
        subject: 'Approve the Q1 Engineering budget: USD 125000',
        details,
      }),
    );
    const consult = answer(messages, { task_id: ids.review, state: 'submitted' });
    expect(consult.name).toBe('send_task');
    expect(consult.args['to']).toBe('legal');
    expect(consult.args['type']).toBe('sox-review');
    expect(consult.args['input']).toMatchObject({
      approval_task_id: ids.approval,
      amount: 125000,
      requested_by: 'finance-agent',
      payee: MASKED_EMPLOYEE.name,
    });
    expect(JSON.stringify(consult.args)).not.toContain(MASKED_EMPLOYEE.ssn);
    expect(JSON.stringify(consult.args)).not.toContain(MASKED_EMPLOYEE.iban);
    expect(
      answer(messages, {
        task_id: ids.review,
        state: 'completed',
        result: { recommendation: 'approve with conditions' },
      }),
    ).toEqual({
      name: 'fetch_status',
      args: { task_id: ids.review, wait_seconds: 120 },
    });
    const decide = answer(messages, { task_id: ids.approval, state: 'completed' });
    expect(decide).toEqual({
      name: 'decide',
      args: {
        task_id: ids.approval,
        decision: 'approve',
        comment: 'Approved: within the Q1 plan; Legal\'s SOX review recommends "approve with conditions".',
      },
    });
    expect(scriptedTurn(messages)).toEqual({ kind: 'text', text: 'Decided: approve.' });
  });

  it('Manager: rejects when Legal does not recommend approval, and decides small amounts alone', () => {
    const messages = conversation(
      'manager',
      task({ id: ids.approval, kind: 'approval', type: null, subject: 'x', details: { amount: 250000 } }),
    );
    answer(messages, { task_id: ids.review, state: 'submitted' });
    answer(messages, { task_id: ids.review, state: 'completed', result: { recommendation: 'reject' } });
    const turn = scriptedTurn(messages);
    expect(turn.kind === 'tool_calls' && turn.calls[0]!.arguments['decision']).toBe('reject');

    const small = conversation(
      'manager',
      task({ id: ids.approval, kind: 'approval', type: null, subject: 'x', details: { amount: 9000 } }),
    );
    const direct = scriptedTurn(small);
    expect(direct.kind === 'tool_calls' && direct.calls[0]!.name).toBe('decide');
  });

  it('Manager: leaves an approval the request asks a person to decide undecided (no decide, no Legal), and only then', () => {
    const human = conversation(
      'manager',
      task({
        id: ids.approval,
        kind: 'approval',
        type: null,
        subject: 'x',
        details: { ...BUDGET_INPUT, human_approval: true },
      }),
    );
    const turn = scriptedTurn(human);
    expect(turn).toEqual({
      kind: 'text',
      text: 'A person decides this approval (the request asks for a human decision): left to them.',
    });
    // Anything but `true` (a string the model could have been handed, false) is the automatic path.
    for (const flag of [false, 'true']) {
      const automatic = scriptedTurn(
        conversation(
          'manager',
          task({ id: ids.approval, kind: 'approval', type: null, subject: 'x', details: { ...BUDGET_INPUT, human_approval: flag } }),
        ),
      );
      expect(automatic.kind === 'tool_calls' && automatic.calls[0]!.name).toBe('send_task');
    }
  });

  it('Legal: answers a SOX review with a recommendation and the rule it rests on', () => {
    const messages = conversation(
      'legal',
      task({
        id: ids.review,
        from: { agentId: 'manager-agent', role: 'manager' },
        type: 'sox-review',
        input: { approval_task_id: ids.approval },
      }),
    );
    const review = answer(messages, { task_id: ids.review, state: 'completed' });
    expect(review.name).toBe('complete_task');
    expect(review.args['task_id']).toBe(ids.review);
    expect(review.args['result']).toMatchObject({
      recommendation: 'approve with conditions',
      reviewed: ids.approval,
    });
    expect(String((review.args['result'] as Record<string, unknown>)['rule'])).toContain('SOX');
    expect(scriptedTurn(messages)).toEqual({ kind: 'text', text: 'Review sent.' });
  });

  it('echoes placeholders and never writes a value it did not receive', () => {
    const messages = conversation('finance', task({ input: BUDGET_INPUT }));
    const turn = scriptedTurn(messages);
    const written = JSON.stringify(turn);
    for (const placeholder of Object.values(MASKED_EMPLOYEE)) expect(written).toContain(placeholder);
    // Every string the script writes is a constant of the script or was in the conversation.
    const received = JSON.stringify(messages);
    const strings = written.match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    const foreign = strings
      .map((s) => JSON.parse(s) as string)
      .filter(
        (s) =>
          !received.includes(s) &&
          ![
            'tool_calls',
            'request_approval',
            'manager',
            'to',
            'subject',
            'details',
            'kind',
            'calls',
            'name',
            'arguments',
            'budget_task_id',
          ].includes(s),
      );
    expect(foreign).toEqual(['Approve the Q1 Engineering budget: USD 125000']);
  });

  it('is deterministic and says so when it has no script', () => {
    const messages = conversation('legal', task({ id: ids.review, type: 'sox-review', input: {} }));
    expect(scriptedTurn(messages)).toEqual(scriptedTurn(structuredClone(messages)));
    expect(scriptedTurn([{ role: 'user', content: 'hello' }])).toEqual({
      kind: 'text',
      text: expect.stringContaining('scripted model'),
    });
    expect(
      scriptedTurn(conversation('finance', task({ kind: 'notification', type: null, message: 'hi' }))),
    ).toEqual({ kind: 'text', text: 'Noted.' });
  });

  it('names the placeholders of an unscripted question, copied, so the proxy restores them in the answer', () => {
    const question = `Does the budget naming ${MASKED_EMPLOYEE.name} (${MASKED_EMPLOYEE.email}) need an amendment? ${MASKED_EMPLOYEE.name}`;
    expect(scriptedTurn([{ role: 'user', content: [{ type: 'text', text: question }] }])).toEqual({
      kind: 'text',
      text: `(scripted model) This conversation is not one the script knows: no reply. It names ${MASKED_EMPLOYEE.name}, ${MASKED_EMPLOYEE.email}.`,
    });
    // Brackets that are not placeholders are not echoed.
    expect(scriptedTurn([{ role: 'user', content: 'see [[note]] and [x]' }])).toEqual({
      kind: 'text',
      text: '(scripted model) This conversation is not one the script knows: no reply.',
    });
  });
});
