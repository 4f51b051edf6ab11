import { useState } from 'react';
import { api, post } from '../api';
import { previewOrgCsv, type OrgPreview } from '../orgPreview';
import { OperatorsOnly, ProblemBanner, Section } from '../ui';

interface LoadResult {
  version: number;
  changed: boolean;
  roles: number;
  agents: number;
  profiles: number;
}

function RegistryReload() {
  const [files, setFiles] = useState<Array<{ path: string; content: string }>>([]);
  const [result, setResult] = useState<LoadResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const pick = async (list: FileList | null) => {
    setResult(undefined);
    setError(undefined);
    const chosen = [...(list ?? [])].filter((f) => /\.ya?ml$/.test(f.name));
    // The registry's paths are relative to its directory: agents/x.yaml, profiles/y.yaml, roles.yaml.
    const read = await Promise.all(
      chosen.map(async (f) => ({
        path: (f.webkitRelativePath || f.name).split('/').slice(1).join('/') || f.name,
        content: await f.text(),
      })),
    );
    setFiles(read);
  };
  const load = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api<LoadResult>('PUT', '/v1/registry', { files }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Reload the registry">
      <p>
        Choose the registry directory (roles.yaml, agents/, profiles/). It is validated and stored as a new
        version, all or nothing.
      </p>
      <label>
        Registry directory{' '}
        <input
          type="file"
          multiple
          {...{ webkitdirectory: '' }}
          onChange={(e) => void pick(e.target.files)}
        />
      </label>
      {files.length ? (
        <p>
          {files.length} files: {files.filter((f) => f.path.startsWith('agents/')).length} agents,{' '}
          {files.filter((f) => f.path.startsWith('profiles/')).length} profiles.{' '}
          <button type="button" className="primary" disabled={busy} onClick={() => void load()}>
            Load {files.length} files
          </button>
        </p>
      ) : null}
      {result ? (
        <p className="ok" role="status">
          {result.changed ? `Loaded as version ${result.version}` : `Unchanged (version ${result.version})`}:{' '}
          {result.roles} roles, {result.agents} agents, {result.profiles} profiles.
        </p>
      ) : null}
      <ProblemBanner error={error} />
    </Section>
  );
}

/** What the chosen CSV holds, read in this browser, and the button that imports it. */
function OrgPreviewPanel({
  fileName,
  preview,
  disabled,
  onImport,
}: {
  fileName: string | undefined;
  preview: OrgPreview;
  disabled: boolean;
  onImport: () => void;
}) {
  return (
    <div className="preview" aria-live="polite">
      <h3>Preview of {fileName}</h3>
      <p>
        {preview.people} people in {preview.departments.length} departments; roles:{' '}
        {preview.roles.map(([r, n]) => `${r} ${n}`).join(', ')}.
      </p>
      {preview.missingColumns.length ? (
        <p className="overdue">Missing columns: {preview.missingColumns.join(', ')}</p>
      ) : null}
      {preview.problems.length ? (
        <ul className="overdue">
          {preview.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : (
        <p className="ok">No problem found in the browser.</p>
      )}
      <button type="button" className="primary" disabled={disabled} onClick={onImport}>
        Import {preview.people} people
      </button>
    </div>
  );
}

function OrgImport() {
  const [file, setFile] = useState<{ name: string; text: string }>();
  const [preview, setPreview] = useState<OrgPreview>();
  const [result, setResult] = useState<{ orgVersion: number; users: number }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const pick = async (list: FileList | null) => {
    setResult(undefined);
    setError(undefined);
    const chosen = list?.[0];
    if (!chosen) return;
    const text = await chosen.text();
    setFile({ name: chosen.name, text });
    setPreview(previewOrgCsv(text));
  };
  const importIt = async () => {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    try {
      setResult(
        await post<{ orgVersion: number; users: number }>('/v1/org/import', {
          csv: file.text,
          fileName: file.name,
        }),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const blocked = !preview || preview.missingColumns.length > 0 || preview.people === 0;
  return (
    <Section title="Import the org chart">
      <p>
        Choose a CSV (<code>user_id,reports_to_id,name,role,email,department</code>). Nothing changes until
        you press Import; the preview below is read in this browser. The gateway has no dry-run route for
        imports, so cycles and unknown roles are found by the registry when you import (all or nothing: a
        refused import changes nothing).
      </p>
      <label>
        Org chart CSV <input type="file" accept=".csv,text/csv" onChange={(e) => void pick(e.target.files)} />
      </label>
      {preview ? (
        <OrgPreviewPanel
          fileName={file?.name}
          preview={preview}
          disabled={busy || blocked}
          onImport={() => void importIt()}
        />
      ) : null}
      {result ? (
        <p className="ok" role="status">
          Imported {result.users} people (org version {result.orgVersion}).
        </p>
      ) : null}
      <ProblemBanner error={error} />
    </Section>
  );
}

export function AdminPage() {
  return (
    <>
      <OperatorsOnly />
      <p className="muted">
        These actions need an administrator&apos;s token; the gateway refuses them to anyone else.
      </p>
      <RegistryReload />
      <OrgImport />
    </>
  );
}
