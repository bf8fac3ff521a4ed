// The recorder's UDP ports: picked from the kernel, watched in the kernel's socket table (ffmpeg
// has bound them; ffmpeg has read everything queued on them), and the RTCP BYE that ends ffmpeg's
// input. There is no event for another process binding a port or reading its queue, so the table is
// polled, one read per period shared by every waiter (many recordings start and stop at once).
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RecorderError } from './recorderError.js';

/** How often the kernel's tables are read while something waits on them (ms). */
const SOCKET_POLL_MS = 25;

let ephemeral: { min: number; max: number } | undefined;
/** The kernel's ephemeral port range (where bind(0) picks), read once. */
export function ephemeralPorts(): { min: number; max: number } {
  if (!ephemeral) {
    const [min, max] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    ephemeral = min && max ? { min, max } : { min: 32768, max: 60999 };
  }
  return ephemeral;
}

/** A loopback UDP socket on `port` (0: any), or undefined if it is taken. */
export function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => (s.close(), resolve(undefined)));
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** A free pair of UDP ports p, p+1 (ffmpeg's RTP demuxer always takes RTCP on RTP + 1). */
export async function freeUdpPortPair(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await bindUdp(0);
    if (!first) continue;
    const port = first.address().port;
    const second = port < 65535 ? await bindUdp(port + 1) : undefined;
    await Promise.all([first, second].map((s) => s && new Promise<void>((r) => s.close(() => r()))));
    if (second) return [port, port + 1];
  }
  throw new RecorderError('no free UDP port pair for the recorder');
}

export interface UdpSocket {
  port: number;
  inode: string;
  /** Bytes waiting in its receive queue. */
  rxQueue: number;
  /** Datagrams the kernel dropped because its receive queue was full. */
  drops: number;
}

let lastTable: { at: number; sockets: Promise<UdpSocket[]> } | undefined;

/** The kernel's IPv4 UDP sockets, read at most once per poll period. */
function udpSockets(): Promise<UdpSocket[]> {
  if (!lastTable || performance.now() - lastTable.at >= SOCKET_POLL_MS) lastTable = { at: performance.now(), sockets: readUdpTable() };
  return lastTable.sockets;
}

/** /proc/net/udp: local address, queues, inode, drops. */
async function readUdpTable(): Promise<UdpSocket[]> {
  const table = await readFile('/proc/net/udp', 'utf8');
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 12)
    .map((f) => ({ port: parseInt(f[1]!.split(':')[1]!, 16), rxQueue: parseInt(f[4]!.split(':')[1]!, 16), inode: f[9]!, drops: Number(f[12]) }));
}

/** The socket inodes `pid` holds open. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const dir = `/proc/${pid}/fd`;
  const links = await Promise.all((await readdir(dir).catch(() => [])).map((fd) => readlink(join(dir, fd)).catch(() => '')));
  return new Set(links.flatMap((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1] ?? []));
}

/** `proc`'s own socket on `port`, if it holds one. */
export async function socketOf(proc: ChildProcess, port: number): Promise<UdpSocket | undefined> {
  if (proc.pid === undefined) return undefined;
  const [sockets, owned] = await Promise.all([udpSockets(), socketInodes(proc.pid)]);
  return sockets.find((s) => s.port === port && owned.has(s.inode));
}

/** Waits until, on each port, a socket of `proc` satisfies `test`. */
export async function untilSockets(proc: ChildProcess, ports: number[], test: (s: UdpSocket) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) throw new RecorderError('ffmpeg is not running');
    const [sockets, owned] = await Promise.all([udpSockets(), socketInodes(proc.pid)]);
    if (ports.every((port) => sockets.some((s) => s.port === port && owned.has(s.inode) && test(s)))) return;
    if (Date.now() > deadline) throw new RecorderError(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, SOCKET_POLL_MS));
  }
}

/**
 * A compound RTCP packet, empty receiver report + BYE (RFC 3550 6.4.2, 6.6), for `ssrc`: ends
 * ffmpeg's RTP input. The RR is there because ffmpeg drops RTP/RTCP datagrams shorter than 12 bytes.
 */
export function sendRtcpBye(socket: Socket, port: number, ssrc: number): void {
  const packet = Buffer.alloc(16);
  packet.writeUInt8(0x80, 0); // version 2, no report blocks
  packet.writeUInt8(201, 1); // RR
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet.writeUInt8(0x81, 8); // version 2, one source
  packet.writeUInt8(203, 9); // BYE
  packet.writeUInt16BE(1, 10);
  packet.writeUInt32BE(ssrc >>> 0, 12);
  socket.send(packet, port, '127.0.0.1');
}
