/** The part of jigg 1.0 (JavaScript garbled circuits, no types of its own) that bench/peer uses. */
declare module 'jigg' {
  import type { Server as HttpServer } from 'node:http';

  type Role = 'Garbler' | 'Evaluator';

  export class Client {
    constructor(role: Role, url: string, options?: { debug?: boolean });
    loadCircuit(bristol: string): void;
    setInput(input: number, encoding: 'number'): void;
    addProgressListener(listener: (status: string) => void): void;
    getOutput(encoding: 'number'): Promise<unknown>;
    start(): void;
    disconnect(): void;
  }

  export class Server {
    constructor(http: HttpServer, options?: { debug?: boolean });
    makeAgent(role: Role, options?: { debug?: boolean }): Client;
  }
}
