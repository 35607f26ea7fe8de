"""Byline's browser UI: a Gradio app over qa's public API (see ``ui.app.build_app``)."""
