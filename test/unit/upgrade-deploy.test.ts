/**
 * `npm run deploy`: it reads the deployed template from CloudFormation (here a loopback server
 * answering GetTemplate as CloudFormation's query API does) or from a file, passes the deployed
 * indexes to `cdk deploy` (here a stand-in that writes the synthesized template), and says what is
 * left. docs/deploy.md, "Upgrading".
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cdkDeployArguments,
  deploy,
  readDeployedTemplate,
  stackNameOf,
  templateInFile,
} from '../../infra/upgrade/deploy.ts';
import { INDEX_CHANGES_LEFT, indexesOfTemplate } from '../../infra/upgrade/indexes.ts';

const fixtureFile = new URL('../fixtures/upgrade/6ac748c-2026-11-22.template.json', import.meta.url).pathname;
const deployedTemplate = readFileSync(fixtureFile, 'utf8');

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** CloudFormation's answers, as its query API gives them (XML, errors with a Code). */
function answer(stackName: string | null): { status: number; body: string } {
  if (stackName === 'wcs-hooks-prod')
    return {
      status: 200,
      body: `<GetTemplateResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><GetTemplateResult><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable><TemplateBody>${xml(deployedTemplate)}</TemplateBody></GetTemplateResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetTemplateResponse>`,
    };
  const error = (status: number, code: string, message: string) => ({
    status,
    body: `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>2</RequestId></ErrorResponse>`,
  });
  if (stackName === 'wcs-hooks-denied')
    return error(403, 'AccessDenied', 'User is not authorized to perform: cloudformation:GetTemplate');
  return error(400, 'ValidationError', `Stack with id ${stackName} does not exist`);
}

const folders: string[] = [];

/** A temporary folder, removed after the tests. */
function folder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

let server: Server;
let client: CloudFormationClient;
const asked: URLSearchParams[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const form = new URLSearchParams(body);
      asked.push(form);
      const { status, body: xmlBody } = answer(form.get('StackName'));
      response.writeHead(status, { 'content-type': 'text/xml' }).end(xmlBody);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new CloudFormationClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** A project folder with `cdk.json`, and a `cdk` stand-in that writes `synthesized` where cdk would. */
function project(synthesized: object, stage = 'dev') {
  const dir = folder('wcs-deploy-');
  writeFileSync(join(dir, 'cdk.json'), JSON.stringify({ app: 'node infra/app.ts', context: { stage } }));
  const calls: string[][] = [];
  const cdk = async (args: readonly string[]) => {
    calls.push([...args]);
    const output = args.indexOf('-o');
    const out = output >= 0 ? (args[output + 1] ?? '') : join(dir, 'cdk.out');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${stackNameOf(args, dir)}.template.json`), JSON.stringify(synthesized));
    return 0;
  };
  const said: string[] = [];
  return { dir, calls, cdk, said, say: (line: string) => said.push(line) };
}

const contextOf = (args: readonly string[]) => {
  const i = args.indexOf('--context');
  return args[i + 1]?.replace(/^deployedIndexes=/, '');
};

describe('reading the deployed template', () => {
  it('asks CloudFormation for the stack’s template as it was submitted', async () => {
    const template = await readDeployedTemplate('wcs-hooks-prod', client);

    expect(template).toEqual(JSON.parse(deployedTemplate));
    expect(asked.at(-1)?.get('Action')).toBe('GetTemplate');
    expect(asked.at(-1)?.get('TemplateStage')).toBe('Original');
  });

  it('takes a stack CloudFormation does not know as not deployed yet', async () => {
    await expect(readDeployedTemplate('wcs-hooks-new', client)).resolves.toBeUndefined();
  });

  it('fails on any other answer, rather than deploy without knowing the deployed indexes, saying how to give them', async () => {
    await expect(readDeployedTemplate('wcs-hooks-denied', client)).rejects.toThrow(
      /allow these credentials cloudformation:GetTemplate on the stack, or .*--deployed-template .*not authorized/,
    );
  });
});

describe('npm run deploy', () => {
  it('passes the deployed indexes to cdk deploy and says which changes are left', async () => {
    const left = ['create streams.byDay', 'create streams.liveByNode', 'delete streams.liveByApp'];
    const repo = project({
      Resources: { T: { Type: 'AWS::DynamoDB::GlobalTable', Metadata: { [INDEX_CHANGES_LEFT]: left } } },
    });

    const code = await deploy(['-c', 'stage=prod', '--require-approval', 'never'], {
      dir: repo.dir,
      cdk: repo.cdk,
      say: repo.say,
      readDeployed: (name) => readDeployedTemplate(name, client),
    });

    expect(code).toBe(0);
    expect(repo.calls[0]?.slice(0, 5)).toEqual(['deploy', '-c', 'stage=prod', '--require-approval', 'never']);
    expect(JSON.parse(contextOf(repo.calls[0] ?? []) ?? '')).toEqual(
      indexesOfTemplate(JSON.parse(deployedTemplate)),
    );
    expect(repo.said.at(-1)).toBe(
      'wcs-hooks-prod: 3 index change(s) left (create streams.byDay, create streams.liveByNode, delete streams.liveByApp): run `npm run deploy` again (with the same options) until none is left',
    );
  });

  it('deploys a stack not deployed yet whole, with no deployed indexes', async () => {
    const repo = project({ Resources: {} }, 'new');

    await deploy([], {
      dir: repo.dir,
      cdk: repo.cdk,
      say: repo.say,
      readDeployed: (n) => readDeployedTemplate(n, client),
    });

    expect(repo.calls).toEqual([['deploy']]);
    expect(repo.said).toEqual([
      'wcs-hooks-new: not deployed yet; this deploy creates it whole',
      'wcs-hooks-new: every table has its indexes; nothing left to deploy',
    ]);
  });

  it('reads the deployed template from --deployed-template instead of CloudFormation, and leaves that option out of cdk’s', async () => {
    const repo = project({ Resources: {} });
    const readDeployed = async () => {
      throw new Error('CloudFormation asked');
    };

    await deploy(['--deployed-template', fixtureFile, '--context', 'stage=dev'], { ...repo, readDeployed });

    expect(repo.calls[0]?.slice(0, 3)).toEqual(['deploy', '--context', 'stage=dev']);
    expect(contextOf(repo.calls[0]?.slice(3) ?? [])).toBe(
      JSON.stringify(indexesOfTemplate(JSON.parse(deployedTemplate))),
    );
  });

  it('reads what is left where cdk was told to write the template (-o)', async () => {
    const left = ['delete streams.liveByApp'];
    const repo = project({ Resources: { T: { Metadata: { [INDEX_CHANGES_LEFT]: left } } } });
    const out = folder('wcs-deploy-out-');

    await deploy(['-o', out], { ...repo, readDeployed: async () => JSON.parse(deployedTemplate) });

    expect(repo.said.at(-1)).toMatch(/^wcs-hooks-dev: 1 index change\(s\) left \(delete streams.liveByApp\)/);
  });

  it('stops with cdk’s exit code when the deploy fails, saying nothing of what is left', async () => {
    const repo = project({ Resources: {} });

    const code = await deploy([], { ...repo, cdk: async () => 1, readDeployed: async () => undefined });

    expect(code).toBe(1);
    expect(repo.said).toHaveLength(1);
  });
});

describe('a saved deployed template', () => {
  it.each([
    ['the template itself', (t: object) => t],
    [
      'aws cloudformation get-template’s whole answer',
      (t: object) => ({ TemplateBody: t, StagesAvailable: ['Original'] }),
    ],
    ['that answer with the body as text', (t: object) => ({ TemplateBody: JSON.stringify(t) })],
  ])('is read from %s', (_, save) => {
    const file = join(folder('wcs-deployed-'), 'deployed.json');
    writeFileSync(file, JSON.stringify(save(JSON.parse(deployedTemplate))));

    expect(templateInFile(file)).toEqual(JSON.parse(deployedTemplate));
  });
});

describe('the stack deployed', () => {
  it('is wcs-hooks-<stage>, the stage from the command line, else cdk.json', () => {
    const { dir } = project({}, 'qa');

    expect(stackNameOf(['-c', 'stage=prod'], dir)).toBe('wcs-hooks-prod');
    expect(stackNameOf(['--context=stage=staging'], dir)).toBe('wcs-hooks-staging');
    expect(stackNameOf([], dir)).toBe('wcs-hooks-qa');
    expect(cdkDeployArguments(['--deployed-template=x.json', '--all'], undefined)).toEqual([
      'deploy',
      '--all',
    ]);
  });
});
