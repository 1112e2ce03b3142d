/**
 * Per-shard checkpoints of the local event source mappings, persisted so a
 * restart resumes where the last run stopped (as a mapping's lease does).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ShardCheckpoint {
  /** Last sequence number whose batch is done (processed, or sent to the on-failure destination). */
  sequenceNumber?: string;
  /**
   * When the mapping first read this shard (epoch ms). A LATEST mapping that
   * has not checkpointed yet resumes from here, not from "now", so records sent
   * while it was stopped are not skipped.
   */
  startedAt?: number;
}

export class CheckpointStore {
  private readonly data: Record<string, ShardCheckpoint>;

  constructor(private readonly file: string) {
    this.data = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, ShardCheckpoint>) : {};
  }

  static key(streamName: string, shardId: string): string {
    return `${streamName}/${shardId}`;
  }

  get(key: string): ShardCheckpoint | undefined {
    return this.data[key];
  }

  set(key: string, value: ShardCheckpoint): void {
    this.data[key] = { ...this.data[key], ...value };
    this.flush();
  }

  /** Replaces a shard's checkpoint (set() merges). */
  reset(key: string, value: ShardCheckpoint): void {
    this.data[key] = { ...value };
    this.flush();
  }

  all(): Readonly<Record<string, ShardCheckpoint>> {
    return this.data;
  }

  private flush(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    // Write-then-rename: a crash mid-write never leaves a torn checkpoint file.
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 2));
    renameSync(tmp, this.file);
  }
}
