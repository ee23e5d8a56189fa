import { spawn, type ChildProcess } from 'node:child_process';
import { PayloadType, StreamDataPayloadSize } from '../../protocol/constants.js';
import { Utf8Chunker } from './utf8-chunker.js';
import type { AgentPlugin, PluginHost } from './plugin.js';

/**
 * NonInteractiveCommands: the command runs without a PTY (agent: exec.Cmd). With separate output
 * streams stdout goes as Output, stderr as StdErr and the status last as ExitCode `EXIT_CODE: n`;
 * without, both go as Output and no status is sent (docs/protocol.md §7). Input is only scanned for Ctrl-C and
 * Ctrl-\, which become signals; Size is ignored.
 */
export class ExecPlugin implements AgentPlugin {
  private child: ChildProcess | undefined;
  private readonly stdoutChunker = new Utf8Chunker(StreamDataPayloadSize);
  private readonly stderrChunker = new Utf8Chunker(StreamDataPayloadSize);

  constructor(
    private readonly host: PluginHost,
    private readonly command: string,
    private readonly separateOutputStream: boolean,
  ) {}

  start(): void {
    const child = spawn('/bin/sh', ['-c', this.command], { stdio: ['ignore', 'pipe', 'pipe'], cwd: process.env.HOME ?? '/' });
    this.child = child;
    const errType = this.separateOutputStream ? PayloadType.StdErr : PayloadType.Output;
    child.stdout!.on('data', (data: Buffer) => {
      for (const chunk of this.stdoutChunker.push(data)) this.host.output(PayloadType.Output, chunk);
    });
    child.stderr!.on('data', (data: Buffer) => {
      for (const chunk of this.stderrChunker.push(data)) this.host.output(errType, chunk);
    });
    child.on('error', (error) => {
      this.host.output(errType, Buffer.from(`Error occurred starting the command: ${error.message}\n`));
    });
    child.on('close', (code, signal) => {
      for (const chunk of this.stdoutChunker.flush()) this.host.output(PayloadType.Output, chunk);
      for (const chunk of this.stderrChunker.flush()) this.host.output(errType, chunk);
      if (this.separateOutputStream) {
        const status = code ?? (signal ? 1 : 0);
        this.host.output(PayloadType.ExitCode, Buffer.from(`EXIT_CODE: ${status}`));
      }
      this.child = undefined;
      this.host.done();
    });
  }

  input(payload: Buffer): void {
    if (payload.includes(0x03)) this.child?.kill('SIGINT');
    if (payload.includes(0x1c)) this.child?.kill('SIGQUIT');
  }

  resize(): void {}

  flag(): void {}

  pause(): void {
    this.child?.stdout?.pause();
    this.child?.stderr?.pause();
  }

  resume(): void {
    this.child?.stdout?.resume();
    this.child?.stderr?.resume();
  }

  stop(): void {
    this.child?.kill('SIGKILL');
  }
}
