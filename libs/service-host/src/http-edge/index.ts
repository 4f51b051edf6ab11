// The HTTP edge kit of the services that serve node:http themselves (gateway, mcp-server, the
// scripted model, the privacy proxy): one body reader with a limit, one JSON writer, one
// problem+json shape, one listen/close that runService's graceful stop drives. A subpath of its own
// (`@orgmesh/service-host/http-edge`), so an edge does not load the Nest/Postgres/NATS host.
export { bodyTooLarge, isBodyTooLarge, isJsonMediaType, mediaType, parseJsonBody, readBody } from './body.js';
export { sendJson } from './json.js';
export { problemFields, readJsonAnswer, type ProblemFields } from './json-answer.js';
export {
  PROBLEM_CONTENT_TYPE,
  problemTitle,
  problemType,
  retryAfterSec,
  sendProblem,
  toProblem,
  type Problem,
} from './problem.js';
export { listenHttp, type HttpEdge, type HttpListenOptions } from './listen.js';
