/**
 * A JSON Schema (draft 2020-12) of the OpenAPI 3.1 document structure, assembled for the gateway's
 * tests from the specification's object definitions (OpenAPI Specification 3.1.0, §4.8). It is
 * closed where the specification is (unknown fixed fields are errors, `x-` extensions allowed),
 * checks the rules the gateway could get wrong (path parameters required, component names,
 * response codes, security schemes), and validates every Schema Object against the JSON Schema
 * 2020-12 meta-schema. Rules JSON Schema cannot express (references resolve, path templates match
 * their parameters, operationIds are unique) are checked by the test itself.
 */
const ext = { '^x-': {} };
const ref = (name: string) => ({ $ref: `#/$defs/${name}` });
const orRef = (name: string) => ({ oneOf: [ref('reference'), ref(name)] });
const mapOf = (schema: unknown) => ({ type: 'object', additionalProperties: schema });
const componentMap = (schema: unknown) => ({
  type: 'object',
  propertyNames: { pattern: '^[a-zA-Z0-9._-]+$' },
  additionalProperties: schema,
});
const closed = (
  required: string[],
  properties: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => ({
  type: 'object',
  required,
  properties,
  patternProperties: ext,
  unevaluatedProperties: false,
  ...extra,
});
const string = { type: 'string' };
const boolean = { type: 'boolean' };

export const OPENAPI_31_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:orgmesh:test:openapi-3.1',
  ...closed(['openapi', 'info'], {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+(-.+)?$' },
    info: ref('info'),
    jsonSchemaDialect: { type: 'string', format: 'uri' },
    servers: { type: 'array', items: ref('server') },
    paths: ref('paths'),
    webhooks: mapOf(orRef('pathItem')),
    components: ref('components'),
    security: { type: 'array', items: ref('securityRequirement') },
    tags: { type: 'array', items: ref('tag') },
    externalDocs: ref('externalDocs'),
  }),
  anyOf: [{ required: ['paths'] }, { required: ['components'] }, { required: ['webhooks'] }],
  $defs: {
    info: closed(['title', 'version'], {
      title: string,
      summary: string,
      description: string,
      termsOfService: { type: 'string', format: 'uri' },
      contact: closed([], {
        name: string,
        url: { type: 'string', format: 'uri' },
        email: { type: 'string', format: 'email' },
      }),
      license: closed(['name'], { name: string, identifier: string, url: { type: 'string', format: 'uri' } }),
      version: string,
    }),
    server: closed(['url'], {
      url: string,
      description: string,
      variables: mapOf(
        closed(['default'], {
          enum: { type: 'array', items: string, minItems: 1 },
          default: string,
          description: string,
        }),
      ),
    }),
    tag: closed(['name'], { name: string, description: string, externalDocs: ref('externalDocs') }),
    externalDocs: closed(['url'], { description: string, url: { type: 'string', format: 'uri' } }),
    reference: {
      type: 'object',
      required: ['$ref'],
      properties: { $ref: { type: 'string', format: 'uri-reference' }, summary: string, description: string },
      additionalProperties: false,
    },
    paths: {
      type: 'object',
      patternProperties: { '^/': ref('pathItem'), ...ext },
      additionalProperties: false,
    },
    pathItem: closed([], {
      $ref: { type: 'string', format: 'uri-reference' },
      summary: string,
      description: string,
      servers: { type: 'array', items: ref('server') },
      parameters: { type: 'array', items: orRef('parameter') },
      get: ref('operation'),
      put: ref('operation'),
      post: ref('operation'),
      delete: ref('operation'),
      options: ref('operation'),
      head: ref('operation'),
      patch: ref('operation'),
      trace: ref('operation'),
    }),
    operation: closed(['responses'], {
      tags: { type: 'array', items: string },
      summary: string,
      description: string,
      externalDocs: ref('externalDocs'),
      operationId: string,
      parameters: { type: 'array', items: orRef('parameter') },
      requestBody: orRef('requestBody'),
      responses: ref('responses'),
      callbacks: mapOf(orRef('callback')),
      deprecated: boolean,
      security: { type: 'array', items: ref('securityRequirement') },
      servers: { type: 'array', items: ref('server') },
    }),
    callback: { type: 'object', additionalProperties: ref('pathItem') },
    parameter: closed(
      ['name', 'in'],
      {
        name: string,
        in: { enum: ['query', 'header', 'path', 'cookie'] },
        description: string,
        required: boolean,
        deprecated: boolean,
        allowEmptyValue: boolean,
        style: string,
        explode: boolean,
        allowReserved: boolean,
        schema: ref('schema'),
        content: { ...ref('content'), minProperties: 1, maxProperties: 1 },
        example: true,
        examples: mapOf(true),
      },
      {
        oneOf: [{ required: ['schema'] }, { required: ['content'] }],
        if: { properties: { in: { const: 'path' } }, required: ['in'] },
        then: { properties: { required: { const: true } }, required: ['required'] },
      },
    ),
    header: closed(
      [],
      {
        description: string,
        required: boolean,
        deprecated: boolean,
        style: { const: 'simple' },
        explode: boolean,
        schema: ref('schema'),
        content: { ...ref('content'), minProperties: 1, maxProperties: 1 },
        example: true,
        examples: mapOf(true),
      },
      { oneOf: [{ required: ['schema'] }, { required: ['content'] }] },
    ),
    requestBody: closed(['content'], { description: string, content: ref('content'), required: boolean }),
    content: {
      type: 'object',
      propertyNames: { pattern: '^[a-z]+/[a-z0-9.+*-]+$' },
      additionalProperties: ref('mediaType'),
    },
    mediaType: closed([], {
      schema: ref('schema'),
      example: true,
      examples: mapOf(true),
      encoding: mapOf(true),
    }),
    responses: {
      type: 'object',
      minProperties: 1,
      properties: { default: orRef('response') },
      patternProperties: { '^[1-5](?:[0-9]{2}|XX)$': orRef('response'), ...ext },
      additionalProperties: false,
    },
    response: closed(['description'], {
      description: string,
      headers: mapOf(orRef('header')),
      content: ref('content'),
      links: mapOf(true),
    }),
    components: closed([], {
      schemas: componentMap(ref('schema')),
      responses: componentMap(orRef('response')),
      parameters: componentMap(orRef('parameter')),
      examples: componentMap(true),
      requestBodies: componentMap(orRef('requestBody')),
      headers: componentMap(orRef('header')),
      securitySchemes: componentMap(orRef('securityScheme')),
      links: componentMap(true),
      callbacks: componentMap(true),
      pathItems: componentMap(orRef('pathItem')),
    }),
    securityScheme: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: ['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'] },
        description: string,
      },
      allOf: [
        {
          if: { properties: { type: { const: 'http' } } },
          then: { required: ['scheme'], properties: { scheme: string, bearerFormat: string } },
        },
        {
          if: { properties: { type: { const: 'apiKey' } } },
          then: { required: ['name', 'in'], properties: { in: { enum: ['query', 'header', 'cookie'] } } },
        },
        {
          if: { properties: { type: { const: 'openIdConnect' } } },
          then: { required: ['openIdConnectUrl'] },
        },
        {
          if: { properties: { type: { const: 'oauth2' } } },
          then: {
            required: ['flows'],
            properties: {
              flows: closed([], {
                implicit: closed(['authorizationUrl', 'scopes'], {
                  authorizationUrl: string,
                  refreshUrl: string,
                  scopes: mapOf(string),
                }),
                password: closed(['tokenUrl', 'scopes'], {
                  tokenUrl: string,
                  refreshUrl: string,
                  scopes: mapOf(string),
                }),
                clientCredentials: closed(['tokenUrl', 'scopes'], {
                  tokenUrl: { type: 'string', format: 'uri' },
                  refreshUrl: string,
                  scopes: mapOf(string),
                }),
                authorizationCode: closed(['authorizationUrl', 'tokenUrl', 'scopes'], {
                  authorizationUrl: string,
                  tokenUrl: string,
                  refreshUrl: string,
                  scopes: mapOf(string),
                }),
              }),
            },
          },
        },
      ],
    },
    securityRequirement: { type: 'object', additionalProperties: { type: 'array', items: string } },
    // Schema Objects are JSON Schema 2020-12 (the document's jsonSchemaDialect extends it with OAS keywords).
    schema: { $ref: 'https://json-schema.org/draft/2020-12/schema' },
  },
} as const;
