export { labelFor } from './entity.js';
export type { Entity, EntityType } from './entity.js';
export { cardIssuerPlausible, ibanValid, ipv4Valid, ipv6Valid, luhnValid, ssnValid } from './checksums.js';
export { Detector, resolveOverlaps } from './detector.js';
export { DirectoryIndex } from './directory-index.js';
export type {
  DetectOptions,
  DetectorOptions,
  Directory,
  DirectoryPerson,
  NerEntity,
  NerHook,
  Recognizer,
} from './detector.js';
export { normalizeForDetection } from './normalize.js';
export type { NormalizedText } from './normalize.js';
export { DictionaryMatcher } from './dictionary.js';
export type { DictionaryMatch, DictionaryTerm } from './dictionary.js';
export {
  actionFor,
  binaryRuleOf,
  CustomPatternSchema,
  PrivacyProfileSchema,
  profileIsActive,
} from './profile.js';
export type { CustomPattern, PrivacyMode, PrivacyProfile, PseudonymScope } from './profile.js';
export { normaliseValue, PlaceholderMapping, Pseudonymizer, pseudonymKeyScope } from './pseudonymizer.js';
export type { PlaceholderKey, PseudonymContext } from './pseudonymizer.js';
export { DirectoryNames, NameRecogniser, nameRecognizer, preloadNamesLexicon } from './names.js';
export type { NameHit, NameRecogniserOptions } from './names.js';
export { jsonStringContent, Restorer, StreamRestorer } from './restorer.js';
export type { RestoreOptions } from './restorer.js';
export { DetectionMemo } from './detection-memo.js';
export type { DetectionMemoOptions, DetectionMemoStats } from './detection-memo.js';
export { MaskingSession } from './masking-session.js';
export type { EntityCounts, ProcessingBudget } from './masking-session.js';
