/**
 * The small HTTP client that auth schemes use for token endpoints. It is given to schemes by the
 * engine so that every outgoing call goes through the same dispatcher, timeouts and network rules.
 *
 * @module
 */

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  /** Raw body text. */
  text: string
  /** Parsed body: JSON when the response is JSON, form fields when form-encoded, else the text. */
  body: unknown
}

export interface HttpRequestInit {
  method?: string
  headers?: Record<string, string>
  /** A string is sent as is; an object as JSON; URLSearchParams as a form. */
  body?: string | URLSearchParams | Record<string, unknown>
}

export type HttpClient = (url: string | URL, init?: HttpRequestInit) => Promise<HttpResponse>
