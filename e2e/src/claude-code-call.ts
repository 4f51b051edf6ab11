import { PRIVACY_CONTEXT_HEADER } from '@orgmesh/contracts';

/**
 * The demo's Claude Code step (issue 20 item 1): an agent of the registry on an Anthropic model
 * (`contracts-agent`, role legal) makes the model call Claude Code makes with its rendered config —
 * `POST ${ANTHROPIC_BASE_URL}/v1/messages`, streamed, the model of `.claude/settings.json`, its own
 * orgmesh token as the credential (what `apiKeyHelper` prints) — about the scenario's employee, in
 * the scenario's workflow. It does not run the Claude Code binary (the demo has no Anthropic
 * account and no Claude Code install); it shows that the path such an agent uses, registry render →
 * privacy proxy → Anthropic Messages upstream (the scripted model under `npm start`), answers and
 * masks. The demo's check of what the model received covers this request too.
 */
export interface ClaudeCodeCallResult {
  agentId: string;
  /** From the rendered `.claude/settings.json`. */
  model: string;
  baseUrl: string;
  status: number;
  /** A complete Messages stream: message_start … message_stop. */
  streamed: boolean;
  /** The answer's text, restored by the proxy (placeholders turned back into the values). */
  text: string;
}

export async function claudeCodeCall(options: {
  gatewayUrl: string;
  agentId: string;
  /** The agent's own orgmesh token. */
  token: string;
  contextId: string;
  /** The question, which names the employee: the proxy must mask it on the way to the model. */
  prompt: string;
}): Promise<ClaudeCodeCallResult> {
  const { agentId, token } = options;
  const auth = { authorization: `Bearer ${token}` };
  const rendered = await fetch(`${options.gatewayUrl}/v1/agents/${agentId}/config?format=claude-code`, {
    headers: auth,
  });
  if (!rendered.ok) throw new Error(`render ${agentId} for Claude Code → ${rendered.status}: ${(await rendered.text()).slice(0, 300)}`);
  const { files } = (await rendered.json()) as { files: Array<{ path: string; content: string }> };
  const settingsFile = files.find((file) => file.path === '.claude/settings.json');
  if (!settingsFile) throw new Error(`the Claude Code config of ${agentId} has no .claude/settings.json`);
  const settings = JSON.parse(settingsFile.content) as { model: string; env: Record<string, string> };
  const baseUrl = (settings.env['ANTHROPIC_BASE_URL'] ?? '').replace(/\/+$/, '');
  const res = await fetch(`${baseUrl}/v1/messages`, {
    method: 'POST',
    headers: {
      ...auth,
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      // As the runner sets ANTHROPIC_CUSTOM_HEADERS: placeholders are scoped by the workflow.
      [PRIVACY_CONTEXT_HEADER]: options.contextId,
    },
    body: JSON.stringify({
      model: settings.model,
      max_tokens: 1024,
      stream: true,
      messages: [{ role: 'user', content: options.prompt }],
    }),
  });
  const body = await res.text();
  const events = [...body.matchAll(/^event: (\S+)$/gm)].map((match) => match[1]);
  const text = [...body.matchAll(/^data: (.+)$/gm)]
    .map((match) => JSON.parse(match[1] ?? '{}') as { delta?: { type?: string; text?: string } })
    .filter((data) => data.delta?.type === 'text_delta')
    .map((data) => data.delta?.text ?? '')
    .join('');
  return {
    agentId,
    model: settings.model,
    baseUrl,
    status: res.status,
    streamed: events[0] === 'message_start' && events.at(-1) === 'message_stop',
    text: res.ok ? text : body.slice(0, 300),
  };
}
