import type { BenchChild } from './privacy-proxy.child.js';
import { complete, freshPrompt } from './privacy-proxy.bench.js';
import { progress, round, runComparison, type BenchResult } from './harness.js';

/**
 * One turn of an agent's conversation (issue 19's proxy bench, the detection memo): the client sends
 * the conversation so far — a system prompt, four earlier 4 KB user messages and their short answers —
 * plus a new 4 KB message, as agents' chat loops do on every turn. Direct, through the proxy as
 * configured (the memo on: the history's detection read from memory, the new message detected), and
 * through a proxy with the memo off (all five messages detected every time), interleaved.
 */
export async function conversationTurns(
  upstreamUrl: string,
  proxy: BenchChild,
  memoOff: BenchChild,
  token: string,
): Promise<BenchResult[]> {
  const history: Array<{ role: string; content: string }> = [
    { role: 'system', content: 'You help the finance team.' },
  ];
  for (let i = 0; i < 4; i++)
    history.push(
      { role: 'user', content: freshPrompt() },
      { role: 'assistant', content: `Noted; item ${i + 1} of the close is handled.` },
    );
  const body = () =>
    JSON.stringify({ model: 'bench', messages: [...history, { role: 'user', content: freshPrompt() }] });
  const DIRECT = 'privacy-proxy: direct upstream, conversation turn (20 KB, 4 KB new)';
  const MEMO = 'privacy-proxy: via proxy, conversation turn, detection memo on (default)';
  const NO_MEMO = 'privacy-proxy: via proxy, conversation turn, detection memo off';
  for (let i = 0; i < 20; i++) {
    await complete(proxy.url, token, body());
    await complete(memoOff.url, token, body());
  }
  const results = await runComparison(
    [
      { name: DIRECT, op: () => complete(upstreamUrl, token, body()), durationMs: 3000 },
      { name: MEMO, baseline: DIRECT, op: () => complete(proxy.url, token, body()), durationMs: 3000 },
      { name: NO_MEMO, baseline: DIRECT, op: () => complete(memoOff.url, token, body()), durationMs: 3000 },
    ],
    { rounds: 4 },
  );
  const [direct, memo, noMemo] = results as [BenchResult, BenchResult, BenchResult];
  for (const result of [memo, noMemo])
    result.extra = { addedP50Ms: round(result.latencyMs.p50 - direct.latencyMs.p50, 3) };
  progress(
    `  privacy-proxy: conversation turn (20 KB, 4 KB new): added p50 +${memo.extra!['addedP50Ms']} ms with the detection memo, ` +
      `+${noMemo.extra!['addedP50Ms']} ms without (direct ${direct.latencyMs.p50} ms)`,
  );
  return results;
}
