/**
 * The hosted connect page's entry (`web/connect.html`, served at `/connect`): the UI's styles and
 * field renderer, none of its pages, and no admin session.
 */
import '../styles.css'
import './connect.css'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { ConnectApp } from './app.js'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ConnectApp />
  </StrictMode>,
)
