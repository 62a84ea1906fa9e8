import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialValues, withoutCredentials } from '../../enclave/supervisor-credentials';

describe("the supervisor's AWS credentials", () => {
  let tmp: string;
  beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), 'cloister-credentials-'))));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const env = () => ({
    PATH: '/usr/bin',
    AWS_REGION: 'eu-west-1',
    HTTPS_PROXY: 'http://127.0.0.1:3128',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE',
    AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Basic Y29udGFpbmVyLXRva2Vu',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/1b2c3d4e',
    AWS_WEB_IDENTITY_TOKEN_FILE: join(tmp, 'web-identity'),
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(tmp, 'missing'),
    AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/supervisor',
    AWS_ROLE_SESSION_NAME: 'supervisor',
    AWS_PROFILE: 'enclave',
    AWS_SHARED_CREDENTIALS_FILE: '/root/.aws/credentials',
    AWS_CONFIG_FILE: '/root/.aws/config',
    AWS_CREDENTIAL_EXPIRATION: '2030-01-01T00:00:00Z',
  });

  it('are left out of the environment an app starts from, and nothing else is', () => {
    expect(withoutCredentials(env())).toEqual({ PATH: '/usr/bin', AWS_REGION: 'eu-west-1', HTTPS_PROXY: 'http://127.0.0.1:3128' });
  });

  it("are what the redactor looks for, the web identity token's content included", () => {
    writeFileSync(join(tmp, 'web-identity'), 'eyJhbGciOiJSUzI1NiJ9.token.signature\n');
    expect(credentialValues(env())).toEqual([
      'AKIAIOSFODNN7EXAMPLE',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'IQoJb3JpZ2luX2VjEXAMPLE',
      'Basic Y29udGFpbmVyLXRva2Vu',
      'http://169.254.170.23/v1/credentials',
      '/v2/credentials/1b2c3d4e',
      'eyJhbGciOiJSUzI1NiJ9.token.signature\n',
    ]);
  });

  it('leave out placeholders too short to be a credential, which would take ordinary words out of every line', () => {
    expect(credentialValues({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' })).toEqual([]);
    expect(credentialValues({})).toEqual([]);
  });
});
