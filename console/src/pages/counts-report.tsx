import { useMemo, type ReactNode } from 'react';
import { get } from '../api';
import { Bars, LoadNotes } from '../Bars';
import { formatCount, rangeQuery, series, type RangeId } from '../counts';
import { Table, type Column } from '../table';
import { Section, useLoad } from '../ui';

/** What the Privacy and Usage pages are made of: filters, a range's rows loaded, bars and a table. */

type RangeOf = ReturnType<typeof rangeQuery>;

/**
 * Loads what a page asked for. The range is fixed when asked (Show, or a new range), so the table and
 * the bars describe the same moments; `at` and `parts` give a row's bucket and its stacked values.
 */
export function useCounts<Row>({
  asked,
  url,
  at,
  parts,
}: {
  asked: { range: RangeId; at: number };
  url: (range: RangeOf) => string;
  at: (row: Row) => string;
  parts: (row: Row) => number[];
}) {
  const query = useMemo(() => rangeQuery(asked.range, asked.at), [asked]);
  const answer = useLoad(() => get<{ rows: Row[]; truncated: boolean }>(url(query)), [query, asked]);
  const points = useMemo(() => series(answer.data?.rows ?? [], query, at, parts), [answer.data, query]);
  return { query, answer, rows: answer.data?.rows ?? [], points };
}

/** The filters above a report; typing asks nothing until Show submits them. */
export function FilterForm({ onSubmit, children }: { onSubmit: () => void; children: ReactNode }) {
  return (
    <form
      className="filters spaced"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
      <button type="submit" className="align-end">
        Show
      </button>
    </form>
  );
}

/**
 * A report's section: what the answer says besides its rows; while the table has rows, the bars of
 * `measure` per hour or day (one stacked part per `legend` name) and the table with its total; a note.
 */
export function CountsSection<Row extends Total, Total>({
  title,
  counts: { query, answer, points },
  measure,
  legend,
  table,
  columns,
  rowKey,
  emptyText,
  note,
}: {
  title: string;
  counts: Pick<ReturnType<typeof useCounts>, 'query' | 'answer' | 'points'>;
  measure: string;
  legend: readonly string[];
  table: { rows: readonly Row[]; sum: Total };
  columns: ReadonlyArray<Column<Row, Total>>;
  rowKey: (row: Row) => string;
  emptyText: string;
  note: ReactNode;
}) {
  return (
    <Section title={title}>
      <LoadNotes
        loading={answer.loading && !answer.data}
        truncated={answer.data?.truncated}
        empty={!!answer.data && table.rows.length === 0}
        emptyText={emptyText}
      />
      {table.rows.length ? (
        <>
          <Bars
            title={`${measure} per ${query.bucket}`}
            points={points}
            bucket={query.bucket}
            legend={legend}
            format={formatCount}
          />
          <Table
            className="counts"
            columns={columns}
            rows={table.rows}
            rowKey={rowKey}
            total={{ label: 'All', of: table.sum }}
          />
        </>
      ) : null}
      {note}
    </Section>
  );
}
