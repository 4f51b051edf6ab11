import { Counter, Histogram, type Registry } from 'prom-client';

/** A reference agent's metrics: deliveries by kind and outcome, handling time, model calls, tool calls. */
export class AgentMetrics {
  readonly deliveries: Counter<'kind' | 'outcome'>;
  readonly handling: Histogram<'kind'>;
  readonly modelCalls: Histogram;
  readonly toolCalls: Counter<'tool' | 'ok'>;

  constructor(registry: Registry) {
    this.deliveries = new Counter({
      name: 'orgmesh_agent_deliveries_total',
      help: 'Deliveries handled, by task kind and outcome (ok, undecided, error)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    this.handling = new Histogram({
      name: 'orgmesh_agent_handling_seconds',
      help: 'Time from taking a delivery to the end of its model conversation',
      labelNames: ['kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.modelCalls = new Histogram({
      name: 'orgmesh_agent_model_call_seconds',
      help: 'Chat-completion calls through the privacy proxy',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.toolCalls = new Counter({
      name: 'orgmesh_agent_tool_calls_total',
      help: 'Tool calls the model made, by tool and whether the mesh accepted them',
      labelNames: ['tool', 'ok'],
      registers: [registry],
    });
  }
}
