// Server-to-server authentication: `Authorization: Bearer <MEDIA_API_KEY>`, compared in constant
// time. Both sides are hashed first so timingSafeEqual gets equal lengths and the key's length
// does not leak either.
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function apiKeyChecker(apiKey: string): (authorization: string | undefined) => boolean {
  const expected = digest(apiKey);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Still hash something on a malformed header so every refusal costs the same.
    return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
  };
}
