import { CommandError, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError, commandHelp, parseCommandArgs, type CliCommand } from './cli.command';
import { loadCliSettings } from './cli.config';
import { paint, type CliIo } from './cli.io';
import { applyCommand, deleteCommand, getCommand, statusCommand } from './controller.commands';
import { benchCommand } from './bench.command';
import { importCommand } from './import.command';
import { predictCommand } from './predict.command';
import { serveCommand } from './serve.command';
import { validateCommand } from './validate.command';

export const COMMANDS: readonly CliCommand[] = [validateCommand, serveCommand, predictCommand, applyCommand, deleteCommand, getCommand, statusCommand, importCommand, benchCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: infergraph <command> [options]',
    '',
    'Inference graphs from the command line: check them, serve them, call them, and manage them on a controller.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '`infergraph <command> --help` describes a command. Exit status: 0 ok, 1 problems found, 2 usage error.',
  ].join('\n');
}

/** Runs one command line; resolves to the exit status. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    (name === undefined ? io.err : io.out)(topic === undefined ? mainHelp() : commandHelp(topic));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(VERSION);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`infergraph: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return EXIT_USAGE;
  }
  try {
    const { values, positionals, help } = parseCommandArgs(command, rest);
    if (help) {
      io.out(commandHelp(command));
      return EXIT_OK;
    }
    return await command.run({ io, settings: loadCliSettings(env) }, values, positionals);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`infergraph ${command.name}: ${err.message}\nusage: infergraph ${command.usage}\n(infergraph ${command.name} --help for more)`);
      return EXIT_USAGE;
    }
    const message = err instanceof CommandError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.err(`${paint(io.errColor, 'red', 'error')} infergraph ${command.name}: ${message}`);
    return EXIT_PROBLEMS;
  }
}

const VERSION = '0.1.0';
