// What a server process holds, read from /proc: its child processes and its UDP sockets (its own
// and its children's), to check that recordings leave nothing behind.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function processes(): ProcessInfo[] {
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      return [{ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) }];
    } catch {
      return []; // exited meanwhile
    }
  });
}

export function childrenOf(pid: number): ProcessInfo[] {
  return processes().filter((p) => p.ppid === pid);
}

/** Processes named `comm` whose command line mentions `text` (e.g. ffmpegs writing into a directory). */
export function processesMentioning(comm: string, text: string): ProcessInfo[] {
  return processes().filter((p) => {
    if (p.comm !== comm) return false;
    try {
      return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

/** UDP sockets held by `pid` and its children. */
export function udpSocketsOf(pid: number): number {
  const udp = new Set(readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)[9]).filter(Boolean));
  let count = 0;
  for (const p of [pid, ...childrenOf(pid).map((c) => c.pid)]) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`))?.[1];
        if (inode && udp.has(inode)) count++;
      } catch {
        // closed meanwhile
      }
    }
  }
  return count;
}
