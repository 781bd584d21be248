import type { DocumentClient, DocumentCommand } from '../../functions/store/dynamo.ts';

/**
 * `doc`, except that a command `diesAt` picks is not sent and rejects with `message` instead:
 * a process killed at that step, everything before it written.
 */
export function crashingClient(
  doc: DocumentClient,
  diesAt: (command: DocumentCommand<unknown, unknown>) => boolean,
  message = 'process killed',
): DocumentClient {
  return {
    send: (command) =>
      diesAt(command as DocumentCommand<unknown, unknown>)
        ? Promise.reject(new Error(message))
        : doc.send(command),
  };
}
