/**
 * `GET /api/v1/connector-templates` and `GET …/connector-templates/:name`: the connector templates
 * shipped with the package (docs/templates.md). The list answers each template's summary; one
 * template answers its connector definition and the placeholders to fill in (`-v` in the CLI, a
 * form in the builder) before it is created with `POST /api/v1/connectors`.
 *
 * @module
 */
import { Hono } from 'hono'
import { shippedTemplate, shippedTemplates } from '../../connector/template-files.js'
import { summarizeTemplate } from '../../connector/templates.js'

export function connectorTemplateRoutes(): Hono {
  const api = new Hono()
  api.get('/connector-templates', (c) =>
    c.json({ items: shippedTemplates().map(summarizeTemplate) }),
  )
  api.get('/connector-templates/:name', (c) => c.json(shippedTemplate(c.req.param('name'))))
  return api
}
