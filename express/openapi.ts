import type { ApiRouter } from './api-router';
import { USER_NAME_HEADER, USER_ROLE_HEADER } from './identity';

/**
 * The OpenAPI 3.1 document for every mounted app, built from the same schemas that validate
 * requests. Callers authenticate at the ingress; the app sees them as the two identity headers,
 * which is how the document describes them.
 */
export function openApiDocument(apis: ApiRouter[], version: string): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cloister example apps',
      version,
      description:
        'Apps behind the Cloister ingress. The ingress authenticates each caller by client certificate and sets ' +
        `${USER_NAME_HEADER} and ${USER_ROLE_HEADER}; clients cannot set them. Errors are {error, message, details?}.`,
    },
    paths: Object.assign({}, ...apis.map((api) => api.openApiPaths())),
    components: {
      securitySchemes: {
        userName: { type: 'apiKey', in: 'header', name: USER_NAME_HEADER },
        userRole: { type: 'apiKey', in: 'header', name: USER_ROLE_HEADER },
      },
    },
    security: [{ userName: [], userRole: [] }],
  };
}
