// A steady tone for Chromium's fake microphone (`--use-file-for-fake-audio-capture`): its own sound
// is a 20 ms beep a second, which averages far below the server's silence threshold, so nobody
// would ever be the active speaker.
import { writeFileSync } from 'node:fs';

/** Writes a WAV of a 440 Hz tone at -12 dBFS (mono, 48 kHz, 2 s; Chromium loops it) to `path`. */
export function writeToneWav(path: string): string {
  const rate = 48_000;
  const samples = rate * 2;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(0.25 * 32767 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  writeFileSync(path, wav);
  return path;
}
