import {
  closeSync,
  fdatasync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The privacy audit's local spool (ADR 0013): an append-only directory of JSON-lines segments that
 * holds every audit event from the moment the request emits it until JetStream acknowledged it.
 *
 * - `append` is one synchronous `write(2)` on an `O_APPEND` descriptor: when it returns, the line is
 *   in the kernel and survives a kill -9 of the process (the request is answered only after it).
 *   `fdatasync` follows off the request path, coalesced (one at a time, covering every write before
 *   it), so a machine crash loses at most the lines of the sync in flight.
 * - The reader walks the segments from the oldest; `commit` advances it past what was published.
 *   A segment the reader finished is deleted; the segment being written is rotated once it is fully
 *   published and past `rotateBytes`, so replay after a restart covers at most that much published
 *   data again (deduplicated by event id downstream).
 * - One process per directory (a `LOCK` file with its pid): two writers would interleave segments.
 */
export interface AuditSpoolOptions {
  readonly dir: string;
  /** Unpublished bytes past which `append` refuses (returns false); default 1 GiB. */
  readonly maxBytes?: number;
  /** A fully published writer segment past this size is replaced by a fresh one; default 1 MiB. */
  readonly rotateBytes?: number;
}

/** Lines read from the spool, to publish and then `commit`. */
export interface SpoolBatch {
  readonly lines: readonly string[];
  /** Where the reader stands after these lines (segment and byte offset). */
  readonly end: { readonly segment: number; readonly offset: number };
  readonly bytes: number;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const READ_CHUNK = 64 * 1024;

export class AuditSpool {
  private writerFd: number;
  private writerSegment: number;
  private writerSize = 0;
  /** Segments not yet deleted, oldest first (the writer's is last). */
  private readonly segments: number[];
  private reader: { segment: number; offset: number; handle: FileHandle | undefined };
  private pending: number;
  private syncing = false;
  private syncAgain = false;
  private readonly syncWaiters: Array<() => void> = [];
  private readonly maxBytes: number;
  private readonly rotateBytes: number;
  private closed = false;

  private constructor(private readonly options: AuditSpoolOptions) {
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.rotateBytes = options.rotateBytes ?? 1024 ** 2;
    mkdirSync(options.dir, { recursive: true });
    takeLock(options.dir);
    const existing = readdirSync(options.dir)
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    // Never append to a segment a dead process left: its last line may be torn.
    this.writerSegment = (existing.at(-1) ?? 0) + 1;
    this.writerFd = openSync(this.path(this.writerSegment), 'a');
    syncDirectory(options.dir);
    this.segments = [...existing, this.writerSegment];
    this.pending = existing.reduce((sum, seq) => sum + statSync(this.path(seq)).size, 0);
    this.reader = { segment: this.segments[0]!, offset: 0, handle: undefined };
  }

  /** Opens (and locks) the spool directory; what an earlier process left unpublished is read first. */
  static open(options: AuditSpoolOptions): AuditSpool {
    return new AuditSpool(options);
  }

  /** Bytes written and not yet committed (published). */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Appends one line (no newline inside); false when the spool is full or closed. */
  append(line: string): boolean {
    if (this.closed) return false;
    const data = Buffer.from(`${line}\n`, 'utf8');
    if (this.pending + data.length > this.maxBytes) return false;
    let written = 0;
    while (written < data.length) written += writeSync(this.writerFd, data, written);
    this.writerSize += data.length;
    this.pending += data.length;
    this.scheduleSync();
    return true;
  }

  /** Resolves once everything appended so far is on stable storage. */
  durable(): Promise<void> {
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      this.scheduleSync();
    });
  }

  private scheduleSync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    this.syncAgain = false;
    const waiters = this.syncWaiters.splice(0);
    const fd = this.writerFd;
    fdatasync(fd, () => {
      // An error here is a closed (rotated) descriptor, whose lines are already published.
      this.syncing = false;
      for (const resolve of waiters) resolve();
      if ((this.syncAgain || this.syncWaiters.length > 0) && !this.closed) this.scheduleSync();
      else for (const resolve of this.syncWaiters.splice(0)) resolve();
    });
  }

  /** Up to about `maxBytes` of complete lines after the reader's position; none when all was read. */
  async read(maxBytes = READ_CHUNK): Promise<SpoolBatch> {
    for (;;) {
      const { segment, offset } = this.reader;
      const writing = segment === this.writerSegment;
      const end = writing ? this.writerSize : undefined;
      const available = end === undefined ? maxBytes : Math.min(maxBytes, end - offset);
      if (available > 0) {
        this.reader.handle ??= await open(this.path(segment), 'r');
        const buffer = Buffer.alloc(available);
        const { bytesRead } = await this.reader.handle.read(buffer, 0, available, offset);
        const text = buffer.subarray(0, bytesRead);
        const last = text.lastIndexOf(0x0a);
        if (last >= 0) {
          const lines = text.subarray(0, last).toString('utf8').split('\n');
          return { lines, end: { segment, offset: offset + last + 1 }, bytes: last + 1 };
        }
        // A line longer than the chunk: read it whole.
        if (bytesRead === available && available === maxBytes) return this.read(maxBytes * 2);
      }
      if (writing) return { lines: [], end: { segment, offset }, bytes: 0 };
      // A finished segment: its last bytes may be a line torn by a crash, which is skipped.
      await this.advanceSegment();
    }
  }

  /** Marks the lines of `batch` as published. */
  async commit(batch: SpoolBatch): Promise<void> {
    if (batch.end.segment !== this.reader.segment || batch.end.offset < this.reader.offset) return;
    this.reader.offset = batch.end.offset;
    this.pending = Math.max(0, this.pending - batch.bytes);
    if (
      this.reader.segment === this.writerSegment &&
      this.reader.offset === this.writerSize &&
      this.writerSize >= this.rotateBytes
    )
      await this.rotate();
  }

  private async advanceSegment(): Promise<void> {
    const done = this.reader.segment;
    await this.reader.handle?.close();
    const leftover = statSync(this.path(done)).size - this.reader.offset;
    this.pending = Math.max(0, this.pending - leftover);
    unlinkSync(this.path(done));
    this.segments.shift();
    this.reader = { segment: this.segments[0] ?? this.writerSegment, offset: 0, handle: undefined };
  }

  /** Starts a new writer segment and deletes the old one, every line of which is published. */
  private async rotate(): Promise<void> {
    const old = this.writerSegment;
    const oldFd = this.writerFd;
    this.writerSegment = old + 1;
    this.writerFd = openSync(this.path(this.writerSegment), 'a');
    this.writerSize = 0;
    this.segments.push(this.writerSegment);
    syncDirectory(this.options.dir);
    await this.advanceSegment();
    closeSync(oldFd);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.durable();
    this.closed = true;
    await this.reader.handle?.close();
    closeSync(this.writerFd);
    unlinkSync(join(this.options.dir, 'LOCK'));
  }

  private path(segment: number): string {
    return join(this.options.dir, `${String(segment).padStart(12, '0')}.jsonl`);
  }
}

/** Error of a spool directory another live process holds. */
export class AuditSpoolLockedError extends Error {
  override readonly name = 'AuditSpoolLockedError';
  readonly code = 'spool_locked';
}

function takeLock(dir: string): void {
  const lock = join(dir, 'LOCK');
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(lock, 'utf8').trim());
  } catch {
    holder = undefined;
  }
  if (holder && holder !== process.pid && alive(holder))
    throw new AuditSpoolLockedError(
      `privacy audit spool ${dir} is in use by process ${holder}: give each proxy replica its own PRIVACY_AUDIT_SPOOL_DIR`,
    );
  writeFileSync(lock, String(process.pid));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new segment's directory entry must be durable too, or a crash could lose the whole file. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
