import { counterSeries, histogramSeries, metricsClass } from '@orgmesh/telemetry';

const AGENT_SERIES = {
  deliveries: counterSeries(
    'orgmesh_agent_deliveries_total',
    'Deliveries handled, by task kind and outcome (ok, undecided, error)',
    { labels: ['kind', 'outcome'] },
  ),
  handling: histogramSeries(
    'orgmesh_agent_handling_seconds',
    'Time from taking a delivery to the end of its model conversation',
    { labels: ['kind'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] },
  ),
  modelCalls: histogramSeries(
    'orgmesh_agent_model_call_seconds',
    'Chat-completion calls through the privacy proxy',
    { buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
  ),
  toolCalls: counterSeries(
    'orgmesh_agent_tool_calls_total',
    'Tool calls the model made, by tool and whether the mesh accepted them',
    { labels: ['tool', 'ok'] },
  ),
};

/** A reference agent's metrics: deliveries by kind and outcome, handling time, model calls, tool calls. */
export class AgentMetrics extends metricsClass(AGENT_SERIES) {}
