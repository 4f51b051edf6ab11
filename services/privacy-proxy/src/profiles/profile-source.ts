import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '@orgmesh/contracts';
import { PrivacyProfileSchema, type Directory, type PrivacyProfile } from '@orgmesh/privacy';

/** Who a request is masked for, from the verified token (a `VerifiedToken` is one). */
export interface ProfileCaller {
  /** The org role the token grants; the profile used is always one of this role's. */
  readonly role: string;
  /** The token's subject: a registry agent id for agent tokens. Absent: the role's default profile. */
  readonly sub?: string;
}

/**
 * Where privacy profiles and the org-chart directory come from: the registry over NATS
 * (`RegistryProfileSource`, the default) or a file (`FileProfileSource`). Implementations return the
 * same objects while nothing changed, so callers can cache per object. Failing to know a profile is
 * an `unavailable` AppError, never a made-up profile.
 */
export interface ProfileSource {
  /**
   * The profile a caller's requests are masked with: the one the registry runs the caller's agent
   * under where the source knows it, else the caller's role's default, else the source's fallback;
   * undefined when none exists.
   */
  profileFor(caller: ProfileCaller): Promise<PrivacyProfile | undefined>;
  getDirectory(): Promise<Directory>;
  /** Where the directory in use stands, for `/readyz` and the metrics; sources that cannot go stale omit it. */
  directoryStatus?(): DirectoryStatus;
  /**
   * Calls `listener` with each new directory the source loads (an announced import refetched in the
   * background), so that its detectors are built before a request needs them. Returns the unsubscribe.
   * Sources whose directory never changes omit it.
   */
  onDirectory?(listener: (directory: Directory) => void): () => void;
}

/** The directory the proxy detects names with, as `/readyz` reports it. */
export interface DirectoryStatus {
  /** A directory is in use. */
  readonly loaded: boolean;
  /** The last attempt to refresh it failed: the proxy detects with its last good dictionary. */
  readonly stale: boolean;
  /** Seconds since the registry last confirmed the dictionary in use (0 when none is loaded). */
  readonly ageSeconds: number;
  readonly orgVersion: number;
  readonly people: number;
}

const PersonSchema = z.object({
  name: z.string().min(1),
  email: z.string().min(3).optional(),
  userId: z.string().min(1).optional(),
});

/**
 * The profile file: `profiles` keyed by role (`default` applies to roles without their own), and the
 * people of the org chart:
 *
 * ```yaml
 * profiles:
 *   finance: { mode: mask, entities: { ssn: strict }, denyList: [Project Nightjar] }
 *   default: { mode: mask }
 * directory:
 *   - { name: Jane Doe, email: jane.doe@acme.example, userId: u-1001 }
 * ```
 */
export const ProfileFileSchema = z.object({
  profiles: z.record(z.string().min(1), PrivacyProfileSchema),
  directory: z.array(PersonSchema).default([]),
});

/** Reads a YAML or JSON profile file once; invalid files are refused with the path and reason. */
export class FileProfileSource implements ProfileSource {
  private constructor(
    private readonly profiles: ReadonlyMap<string, PrivacyProfile>,
    private readonly directory: Directory,
  ) {}

  static async load(path: string): Promise<FileProfileSource> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new AppError('validation_failed', 'privacy profiles file cannot be read', {
        cause,
        details: { path },
      });
    }
    return FileProfileSource.fromText(text, path);
  }

  static fromText(text: string, path = '(inline)'): FileProfileSource {
    let raw: unknown;
    try {
      raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (cause) {
      throw new AppError(
        'validation_failed',
        `privacy profiles file is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`,
        {
          cause,
          details: { path },
        },
      );
    }
    const parsed = ProfileFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || '(root)',
        message: i.message,
      }));
      throw new AppError(
        'validation_failed',
        `invalid privacy profiles file: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        {
          details: { path, issues },
        },
      );
    }
    return FileProfileSource.fromObject(parsed.data);
  }

  static fromObject(data: z.output<typeof ProfileFileSchema>): FileProfileSource {
    return new FileProfileSource(new Map(Object.entries(data.profiles)), { people: data.directory });
  }

  /** The file knows roles only: every caller gets its role's profile. */
  profileFor(caller: ProfileCaller): Promise<PrivacyProfile | undefined> {
    return this.getProfile(caller.role);
  }

  /** The profile of a role, or the file's `default` for roles without one. */
  async getProfile(role: string): Promise<PrivacyProfile | undefined> {
    return this.profiles.get(role) ?? this.profiles.get('default');
  }

  async getDirectory(): Promise<Directory> {
    return this.directory;
  }
}
