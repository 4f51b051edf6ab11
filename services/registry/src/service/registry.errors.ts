import { AppError, type RegistryProblem } from '@orgmesh/contracts';
import { formatProblem } from '../loader/problem.js';

const SHOWN_IN_MESSAGE = 5;

function summary(what: string, problems: readonly RegistryProblem[]): string {
  const lines = problems.slice(0, SHOWN_IN_MESSAGE).map(formatProblem);
  const more = problems.length > SHOWN_IN_MESSAGE ? `; … ${problems.length - SHOWN_IN_MESSAGE} more` : '';
  return `${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${lines.join('; ')}${more}`;
}

/** An invalid registry directory: every problem (file, path, reason, position) in `details.problems`; nothing stored. */
export function registryRefused(problems: readonly RegistryProblem[]): AppError {
  return new AppError('validation_failed', summary('registry refused, nothing loaded', problems), {
    details: { problems },
  });
}

/** An invalid org chart: every problem names its line (`line 12.email`); nothing written. */
export function orgChartRefused(problems: readonly RegistryProblem[]): AppError {
  return new AppError('validation_failed', summary('org chart refused, nothing imported', problems), {
    details: { problems },
  });
}

export function noRegistryVersion(): AppError {
  return new AppError('unavailable', 'no registry version has been loaded yet');
}

export function agentNotFound(agentId: string): AppError {
  return new AppError('agent_not_found', `unknown agent "${agentId}"`, { details: { agentId } });
}
