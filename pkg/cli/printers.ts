/**
 * Output like kubectl's: tables (from the server's Table, so `bosun get` and `kubectl get`
 * print the same columns), YAML, JSON and `kind/name`.
 */
import { stringify } from 'yaml';
import { KubeObject, ResourceInfo } from '../api';

export interface TableColumn {
  name: string;
  priority: number;
}

export interface TableRow {
  cells: Array<string | number | boolean | null>;
  object?: { metadata?: { name?: string; namespace?: string } };
}

export interface Table {
  kind: 'Table';
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name';

export function parseOutput(value: string | undefined): OutputFormat {
  const format = value ?? 'table';
  if (['table', 'wide', 'yaml', 'json', 'name'].includes(format)) return format as OutputFormat;
  throw new Error(
    `unable to match a printer suitable for the output format "${format}", allowed formats are: json,name,wide,yaml`,
  );
}

/** Left-aligned columns separated by three spaces, as kubectl's tabwriter lays them out. */
export function formatColumns(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

export interface TableOptions {
  wide: boolean;
  withNamespace: boolean;
  headers: boolean;
  /** Prefix names with `kind/` (kubectl does this when several kinds are printed). */
  kindPrefix?: string;
}

export function tableLines(table: Table, options: TableOptions): string[][] {
  const shown = table.columnDefinitions
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => options.wide || c.priority === 0);
  const rows: string[][] = [];
  if (options.headers) {
    rows.push([
      ...(options.withNamespace ? ['NAMESPACE'] : []),
      ...shown.map(({ c }) => c.name.toUpperCase()),
    ]);
  }
  for (const row of table.rows) {
    const cells = shown.map(({ i }) => {
      const cell = row.cells[i];
      const text = cell === null || cell === undefined ? '<none>' : String(cell);
      return i === 0 && options.kindPrefix ? `${options.kindPrefix}/${text}` : text;
    });
    rows.push([...(options.withNamespace ? [row.object?.metadata?.namespace ?? ''] : []), ...cells]);
  }
  return rows;
}

export function printTable(table: Table, options: TableOptions): string {
  return formatColumns(tableLines(table, options));
}

/** What `-o name` prints: `deployment.apps/web`. */
export function nameOf(info: ResourceInfo, object: KubeObject): string {
  const kind = info.group ? `${info.kind.toLowerCase()}.${info.group}` : info.kind.toLowerCase();
  return `${kind}/${object.metadata.name}`;
}

/** One object as itself; several as a v1 List, as kubectl prints them. */
export function printObjects(objects: KubeObject[], format: 'yaml' | 'json', single: boolean): string {
  const value =
    single && objects.length === 1
      ? objects[0]
      : { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
  return format === 'json' ? JSON.stringify(value, null, 4) + '\n' : stringify(value, { lineWidth: 0 });
}
