impl NotesServer {
    #[doc(hidden)]
    #[allow(non_upper_case_globals)]
    const __MCP_AUTH_SCOPES_LIST_NOTES: &'static [&'static str] = {
        const _: () = {
            const DECLARED: &[&str] = <Notes as ::mcp_auth::__private::Resource>::SPEC
                .scopes;
            if !::mcp_auth::__private::scope_declared(DECLARED, "read:notes") {
                const PARTS: &[&str] = &[
                    "scope `read:notes` is not declared by resource `",
                    <Notes as ::mcp_auth::__private::Resource>::SPEC.type_name,
                    "`; declared scopes: ",
                ];
                const MESSAGE: [u8; ::mcp_auth::__private::concat_list_len(
                    PARTS,
                    DECLARED,
                )] = ::mcp_auth::__private::concat_list_bytes(PARTS, DECLARED);
                ::mcp_auth::__private::compile_error(&MESSAGE);
            }
        };
        &["read:notes"]
    };
    async fn list_notes(&self) -> Result<CallToolResult, McpError> {
        self.list().await
    }
}
