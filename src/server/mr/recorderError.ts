// Why a recording could not start or did not finish: its message is the reason in the row and the logs.
export class RecorderError extends Error {
  override name = 'RecorderError';
}

/** ffmpeg exited before binding its ports because one was taken: worth another pair. */
export class PortTaken extends RecorderError {}
