//! What the harness's tests share: reading an SVG back.

/// The text of every `<text>` element of `svg`, trimmed; panics unless
/// `svg` is a well-formed SVG document.
pub fn svg_texts(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|text| text.trim().to_string())
        .collect()
}
