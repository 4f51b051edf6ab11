export {
  ServiceHost,
  type ServiceHostConfig,
  type ServiceHostOptions,
  type StartableJobs,
} from './service-host.js';
export { CloseStack } from './close-stack.js';
export { handlersModule, instance } from './handlers-module.js';
export {
  ServiceJobs,
  type JobDefinition,
  type ServiceJobParts,
  type ServiceJobsOptions,
} from './jobs/service-jobs.js';
export { jobAffectedCounter, jobRunsCounter } from './jobs/job-metrics.js';
export {
  serviceApp,
  serviceAppStarter,
  type ServiceApp,
  type ServiceAppDefinition,
  type ServiceAppOptions,
} from './service-app.js';
