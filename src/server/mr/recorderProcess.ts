// The ffmpeg that writes one recording: started so that it dies with the server, its `-progress`
// reports read as they come (frames written), the tail of its stderr kept for the reason of a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { RecordingFormat } from './recordingFormat.js';

/** ffmpeg's progress report period (s): how soon its first written frame is known. */
const PROGRESS_PERIOD_S = '0.1';
/** util-linux's setpriv sets PR_SET_PDEATHSIG before it execs ffmpeg (Linux; absent, ffmpeg runs as is). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
/** Socket receive buffer ffmpeg asks for (the kernel caps it at net.core.rmem_max). */
const RECEIVE_BUFFER_BYTES = 1 << 20;

export interface Progress {
  /** Frames (packets, with -c copy) written to the file so far. */
  frame: number;
  /** The file's timestamp so far (µs). */
  outTimeUs: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when ffmpeg could not be run at all. */
  error?: string;
}

export class RecorderProcess {
  private readonly child: ChildProcess;
  private stderr = '';
  /** Resolves once ffmpeg has exited (or could not start). */
  readonly exited: Promise<Exit>;

  constructor(ffmpegPath: string, sdpPath: string, path: string, format: RecordingFormat, onProgress: (p: Progress) => void) {
    this.child = spawnWithParent(ffmpegPath, [
      '-nostdin', '-hide_banner', '-loglevel', 'warning', '-progress', 'pipe:1', '-stats_period', PROGRESS_PERIOD_S,
      '-protocol_whitelist', 'file,udp,rtp', '-fflags', '+genpts',
      // Wait for packets as long as it takes: by default the SDP demuxer gives up after 10 s without
      // one, which ended (or never began) every recording of a producer paused that long.
      '-listen_timeout', '-1',
      // Stream info from the first keyframe alone: no frame-rate probing to delay the file's start.
      '-fpsprobesize', '0', '-buffer_size', String(RECEIVE_BUFFER_BYTES),
      '-i', sdpPath, '-map', '0', '-c', 'copy', '-flush_packets', '1', ...format.flush, '-f', format.muxer, '-y', path,
    ]);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      this.child.on('error', (err) => resolve({ code: null, signal: null, error: `ffmpeg could not run: ${err.message}` }));
    });
    this.readProgress(onProgress);
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-2000)));
  }

  /** The process itself, for watching its sockets. */
  get process(): ChildProcess {
    return this.child;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Everything ffmpeg said on stderr (its last 2000 characters). */
  get errors(): string {
    return this.stderr;
  }

  /** Its last three lines on stderr, for a reason and the logs. */
  stderrTail(): string[] {
    return this.stderr.trim().split('\n').filter(Boolean).slice(-3);
  }

  /** `-progress` writes key=value lines, each report ending with `progress=continue|end`. */
  private readProgress(onProgress: (p: Progress) => void): void {
    let pending = '';
    const report: Progress = { frame: 0, outTimeUs: 0 };
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [key, value] = line.split('=', 2);
        if (key === 'frame') report.frame = Number(value) || 0;
        else if (key === 'out_time_us') report.outTimeUs = Number(value) || 0;
        else if (key === 'progress') onProgress({ ...report });
      }
    });
  }
}

/** Starts `command` so that it is killed when this process dies, however it dies. */
function spawnWithParent(command: string, args: string[]): ChildProcess {
  const options = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
  return SETPRIV ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args], options) : spawn(command, args, options);
}
